package org.quant4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.quant4j.QuantizationOptions;
import org.quant4j.demo.Demo;
import org.quant4j.demo.FashionCnn;
import org.quant4j.data.Datasets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code quant4j} command. Exit codes: 0 done, 1 failed (one line says why), 2 bad usage. */
@Command(name = "quant4j", mixinStandardHelpOptions = true, version = "quant4j 0.1.0",
        description = "Post-training quantization of Deeplearning4j networks.",
        subcommands = {Main.DemoCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line; returns the exit code. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean verbose = parsed.hasMatchedOption("--verbose");
            if (verbose) {
                e.printStackTrace(cmd.getErr());
            } else {
                cmd.getErr().println("quant4j: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            }
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Train (once) a CNN on Fashion-MNIST, quantize it, and print accuracy, size, time and "
                    + "per-layer SQNR.")
    static final class DemoCommand implements Callable<Integer> {

        @Option(names = "--calibration-images", defaultValue = "512",
                description = "Training images used for calibration (default: ${DEFAULT-VALUE}).")
        int calibrationImages;

        @Option(names = "--output", defaultValue = "quant4j-demo.q4j",
                description = "Where to write the quantized model (default: ${DEFAULT-VALUE}).")
        Path output;

        @Option(names = "--model", description = "The trained network's file (default: the model cache).")
        Path model;

        @Option(names = "--bits", defaultValue = "8", description = "Weight and activation bits, 2..8 (default: 8).")
        int bits;

        @Option(names = "--method", defaultValue = "minmax", description = "Range method (default: ${DEFAULT-VALUE}).")
        String method;

        @Override
        public Integer call() throws Exception {
            if (calibrationImages < 1 || calibrationImages > 60_000) {
                throw new IllegalArgumentException("--calibration-images must be in 1..60000, got " + calibrationImages);
            }
            QuantizationOptions options = QuantizationOptions.builder().weightBits(bits).activationBits(bits)
                    .rangeMethod(method).calibrationBatches(Integer.MAX_VALUE).build();
            new Demo(calibrationImages, options, output).run(Datasets.fromEnvironment(),
                    model != null ? model : FashionCnn.cachedModel(), System.out);
            return 0;
        }
    }
}
