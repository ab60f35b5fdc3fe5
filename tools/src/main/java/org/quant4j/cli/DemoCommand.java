package org.quant4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.quant4j.QuantizationOptions;
import org.quant4j.range.RangeMethods;
import org.quant4j.demo.Demo;
import org.quant4j.demo.FashionCnnTraining;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code quant4j demo}: the README's main job. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train (once) a CNN on Fashion-MNIST, quantize it, print accuracy, size, time and per-layer "
                + "SQNR, and write the report (the worst layers and why, with charts).")
final class DemoCommand extends CommonOptions implements Callable<Integer> {

    @Option(names = "--calibration-images", defaultValue = "512", paramLabel = "N",
            description = "Training images used for calibration, 1.." + OptionBounds.TRAINING_IMAGES
                    + " (default: ${DEFAULT-VALUE}).")
    int calibrationImages;

    @Option(names = "--output", defaultValue = "quant4j-demo.q4j", paramLabel = "FILE",
            description = "Where to write the quantized model (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--report", defaultValue = "quant4j-demo-report", paramLabel = "DIR",
            description = "Where to write the report (default: ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--model", paramLabel = "FILE", description = "The trained network's file (default: the model cache).")
    Path model;

    @Option(names = "--bits", defaultValue = "8", paramLabel = "BITS",
            description = "Activation bits and weight bits, 2..8 (default: 8; weights at most 7 on CPUs without VNNI).")
    int bits;

    @Option(names = "--method", defaultValue = RangeMethods.FITTED_PDF, description = "Range method (default: ${DEFAULT-VALUE}).")
    String method;

    @Override
    public Integer call() throws Exception {
        requireInRange("--calibration-images", calibrationImages, 1, OptionBounds.TRAINING_IMAGES);
        requireInRange("--bits", bits, OptionBounds.MIN_BITS, OptionBounds.MAX_BITS);
        requireFileOrAbsent("--output", output);
        requireDirectoryOrAbsent("--report", report);
        if (model != null) {
            requireFileOrAbsent("--model", model);
        }
        QuantizationOptions options = QuantizeCommand.options(this, method,
                bits == 8 ? QuantizationOptions.AUTO_WEIGHT_BITS : bits, bits,
                QuantizationOptions.defaults().activationGranularity().label(),
                java.util.List.of()).build();
        new Demo(calibrationImages, options, output, report).run(datasets(),
                model != null ? model : FashionCnnTraining.cachedModel(), main.out, main.progress);
        return Main.OK;
    }
}
