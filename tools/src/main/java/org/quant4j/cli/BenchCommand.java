package org.quant4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizedModel;
import org.quant4j.graph.TensorSpec;
import org.quant4j.report.html.ReportBuilder;
import org.quant4j.report.html.ReportData;
import org.quant4j.report.html.ReportFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code quant4j bench MODEL Q4J}: a quick wall-clock comparison of fp32 DL4J and the quantized model. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"A quick latency measurement: mean wall-clock time per batch of the fp32 DL4J network and of "
                + "the quantized model on the same random inputs, and their ratio.",
                "Plain timing after a few warm-up batches, not JMH: for careful numbers use benchmarks/ (JMH)."})
final class BenchCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "The fp32 DL4J model file (or zoo model name).")
    String model;

    @Parameters(index = "1", paramLabel = "Q4J", description = "The quantized model (.q4j).")
    Path quantized;

    @Option(names = "--batches", defaultValue = "20", description = "Timed batches per model (default: ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed batches first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--batch-size", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--report", paramLabel = "DIR",
            description = "Add the timing to the report in DIR (written anew from Q4J when DIR has none).")
    Path report;

    @Override
    public Integer call() throws Exception {
        check(batches >= 1, this, "--batches must be at least 1, got " + batches);
        check(warmup >= 0, this, "--warmup must be at least 0, got " + warmup);
        check(batchSize >= 1, this, "--batch-size must be at least 1, got " + batchSize);
        Fp32Model fp32 = Fp32Model.resolve(model, seed);
        QuantizedModel q = QuantizedModel.load(EvalCommand.existing(quantized).toFile());
        INDArray input = randomInput(q, batchSize);

        double fp32Ms = time("bench fp32", () -> fp32.output(input));
        double qMs = time("bench quantized", () -> q.output(input));
        ReportData.Speed s = new ReportData.Speed(batches, batchSize, fp32Ms, qMs);
        main.out.printf(Locale.ROOT, "quick timing (wall clock after %d warm-up batches, not JMH), %d batches of %d:%n",
                warmup, batches, batchSize);
        main.out.printf(Locale.ROOT, "  fp32 (DL4J)  %10.2f ms per batch%n", fp32Ms);
        main.out.printf(Locale.ROOT, "  quantized    %10.2f ms per batch%n", qMs);
        main.out.printf(Locale.ROOT, "  quantized speed / fp32 speed: %.2fx (the quantized model simulates int8 in "
                + "fp32 SameDiff ops)%n", s.speedup());
        if (report != null) {
            ReportData r = Files.isRegularFile(report.resolve(ReportFiles.JSON)) ? ReportFiles.read(report)
                    : ReportBuilder.build(quantized.getFileName().toString(), q, null, null);
            main.out.println("report: " + ReportFiles.write(report, r.withSpeed(s)));
        }
        return Main.OK;
    }

    /** Mean milliseconds per call of {@code run} over the timed batches, after the warm-up. */
    private double time(String task, Runnable run) {
        long total = 0;
        try (ProgressBar bar = main.progress.start(task, warmup + batches, "batches")) {
            for (int i = 0; i < warmup + batches; i++) {
                long t = System.nanoTime();
                run.run();
                if (i >= warmup) {
                    total += System.nanoTime() - t;
                }
                bar.step();
            }
        }
        return total / 1e6 / batches;
    }

    /**
     * Uniform [0, 1) inputs of the model's (first) input shape: the batch dimension set to {@code batch}, other open
     * dimensions of an image input (rank 4) to 28, the size of the data sets quant4j reads.
     */
    static INDArray randomInput(QuantizedModel q, int batch) {
        TensorSpec spec = q.inputs().get(0);
        long[] shape = spec.shape().clone();
        shape[0] = batch;
        for (int i = 2; i < shape.length && shape.length == 4; i++) {
            shape[i] = shape[i] < 1 ? 28 : shape[i];
        }
        if (Arrays.stream(shape).anyMatch(d -> d < 1)) {
            throw new QuantizationException("the model's input '" + spec.name() + "' has shape " + spec.shapeText()
                    + ": bench cannot choose its open sizes");
        }
        Nd4j.getRandom().setSeed(1);
        return Nd4j.rand(DataType.FLOAT, shape);
    }
}
