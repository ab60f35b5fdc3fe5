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

    @Parameters(index = "1", paramLabel = "Q4J", description = "A quantized model (.q4j) of MODEL.")
    Path quantized;

    @Option(names = "--batches", defaultValue = "20", paramLabel = "N",
            description = "Timed batches per model, 1.." + OptionBounds.MAX_BENCH_BATCHES
                    + " (default: ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "N",
            description = "Untimed batches first, 0.." + OptionBounds.MAX_BENCH_BATCHES + " (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N",
            description = "Batch size, 1.." + OptionBounds.MAX_BENCH_BATCH_SIZE + ", and at most 2^31-1 input values "
                    + "per batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--report", paramLabel = "DIR",
            description = "Add the timing to the report in DIR (written anew from Q4J when DIR has none).")
    Path report;

    @Override
    public Integer call() throws Exception {
        requireInRange("--batches", batches, 1, OptionBounds.MAX_BENCH_BATCHES);
        requireInRange("--warmup", warmup, 0, OptionBounds.MAX_BENCH_BATCHES);
        requireInRange("--batch-size", batchSize, 1, OptionBounds.MAX_BENCH_BATCH_SIZE);
        if (report != null) {
            requireDirectoryOrAbsent("--report", report);
        }
        QuantizedModel q = QuantizedModel.load(EvalCommand.existing(quantized).toFile());
        long[] example = inputShape(q, 1);
        long valuesPerExample = Arrays.stream(example).skip(1).reduce(1, Math::multiplyExact);
        requireInRange("--batch-size", batchSize, 1, OptionBounds.maxBenchBatchSize(valuesPerExample));
        Fp32Model fp32 = Fp32Model.resolve(model, seed);
        ModelMatch.require(this, fp32, q, quantized, randomInput(q, 2));
        INDArray input = randomInput(q, batchSize);

        long fp32Nanos = time("bench fp32", () -> fp32.output(input));
        long qNanos = time("bench quantized", () -> q.output(input));
        ReportData.Speed s = speed(batches, batchSize, fp32Nanos, qNanos);
        main.out.printf(Locale.ROOT, "quick timing (wall clock after %d warm-up batches, not JMH), %d batches of %d:%n",
                warmup, batches, batchSize);
        main.out.printf(Locale.ROOT, "  fp32 (DL4J)  %10.2f ms per batch%n", s.fp32MsPerBatch());
        main.out.printf(Locale.ROOT, "  quantized    %10.2f ms per batch%n", s.quantizedMsPerBatch());
        main.out.printf(Locale.ROOT, "  quantized speed / fp32 speed: %.2fx (the quantized model simulates int8 in "
                + "fp32 SameDiff ops)%n", s.speedup());
        if (report != null) {
            ReportData r = Files.isRegularFile(report.resolve(ReportFiles.JSON)) ? ReportFiles.read(report)
                    : ReportBuilder.build(quantized.getFileName().toString(), q, null, null);
            main.out.println("report: " + ReportFiles.write(report, r.withSpeed(s)));
        }
        return Main.OK;
    }

    /** Total nanoseconds of the timed calls of {@code run}, after the warm-up calls. */
    private long time(String task, Runnable run) {
        long total = 0;
        try (ProgressBar bar = main.progress.start(task, (long) warmup + batches, "batches")) {
            for (long i = 0; i < (long) warmup + batches; i++) {
                long t = System.nanoTime();
                run.run();
                if (i >= warmup) {
                    total += System.nanoTime() - t;
                }
                bar.step();
            }
        }
        return total;
    }

    /**
     * The mean times per batch and their ratio; an error (exit code 1) when a mean is not above zero (below the
     * clock's resolution) or a value is not finite, so that no NaN or infinite ratio is printed.
     */
    static ReportData.Speed speed(int batches, int batchSize, long fp32Nanos, long quantizedNanos) {
        String hint = "time more --batches or a larger --batch-size";
        double fp32Ms = ResultChecks.positive("the fp32 network's mean time per batch (ms)",
                fp32Nanos / 1e6 / batches, hint);
        double quantizedMs = ResultChecks.positive("the quantized model's mean time per batch (ms)",
                quantizedNanos / 1e6 / batches, hint);
        ReportData.Speed s = new ReportData.Speed(batches, batchSize, fp32Ms, quantizedMs);
        ResultChecks.positive("the speed ratio", s.speedup(), hint);
        return s;
    }

    /**
     * Uniform [0, 1) inputs of the model's (first) input shape: the batch dimension set to {@code batch}, other open
     * dimensions of an image input (rank 4) to 28, the size of the data sets quant4j reads.
     */
    static INDArray randomInput(QuantizedModel q, int batch) {
        Nd4j.getRandom().setSeed(1);
        return Nd4j.rand(DataType.FLOAT, inputShape(q, batch));
    }

    /** The shape of {@link #randomInput}; an error when the model leaves sizes open that bench cannot choose. */
    static long[] inputShape(QuantizedModel q, int batch) {
        TensorSpec spec = q.inputs().get(0);
        if (spec.shape() == null) {
            throw new QuantizationException("the model's input '" + spec.name() + "' has shape " + spec.shapeText()
                    + ": bench cannot choose its sizes");
        }
        long[] shape = spec.shape().clone();
        shape[0] = batch;
        for (int i = 2; i < shape.length && shape.length == 4; i++) {
            shape[i] = shape[i] < 1 ? 28 : shape[i];
        }
        if (Arrays.stream(shape).anyMatch(d -> d < 1)) {
            throw new QuantizationException("the model's input '" + spec.name() + "' has shape " + spec.shapeText()
                    + ": bench cannot choose its open sizes");
        }
        return shape;
    }
}
