package org.quant4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import me.tongfei.progressbar.ProgressBar;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizedModel;
import org.quant4j.graph.TensorSpec;
import org.quant4j.io.AtomicFiles;
import org.quant4j.report.html.ReportBuilder;
import org.quant4j.report.html.ReportData;
import org.quant4j.report.html.ReportFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code quant4j bench MODEL Q4J}: a quick wall-clock comparison of fp32 DL4J and the quantized model. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Latency per batch (median, p90, p99, min, max) and throughput of the fp32 DL4J network and of "
                + "the quantized model on the same random inputs, for each batch size and thread count; the machine's "
                + "CPU and oneDNN's ISA.",
                "Plain timing after a few warm-up batches, not JMH: for careful numbers use benchmarks/ (JMH)."})
final class BenchCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "The fp32 DL4J model file (or zoo model name).")
    String model;

    @Mixin
    NormalizerOption normalizerOption;

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

    @Option(names = "--batch-sizes", split = ",", paramLabel = "N",
            description = "Batch sizes, each measured (default: --batch-size).")
    List<Integer> batchSizes;

    @Option(names = "--threads", split = ",", paramLabel = "N",
            description = "ND4J thread counts, each measured with each batch size, 1.." + OptionBounds.MAX_BENCH_THREADS
                    + " (default: ND4J's current count).")
    List<Integer> threads;

    @Option(names = "--input-shape", split = ",", paramLabel = "N",
            description = "C,H,W: the sizes of random image inputs the model leaves open, and the input a zoo MODEL is "
                    + "built for (default: 1,28,28).")
    List<Integer> inputShape;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON into FILE.")
    Path json;

    @Option(names = "--report", paramLabel = "DIR",
            description = "Add the timing (the first batch size and thread count) to the report in DIR (written anew "
                    + "from Q4J when DIR has none).")
    Path report;

    /** Channels, height and width for the sizes of an image input the model leaves open. */
    private int[] openSizes = Fp32Model.ZOO_INPUT;

    /** One measured combination: a model at a batch size and thread count. */
    record Row(String model, int threads, LatencyStats latency) {
    }

    @Override
    public Integer call() throws Exception {
        requireInRange("--batches", batches, 1, OptionBounds.MAX_BENCH_BATCHES);
        requireInRange("--warmup", warmup, 0, OptionBounds.MAX_BENCH_BATCHES);
        requireInRange("--batch-size", batchSize, 1, OptionBounds.MAX_BENCH_BATCH_SIZE);
        List<Integer> sizes = batchSizes == null || batchSizes.isEmpty() ? List.of(batchSize) : batchSizes;
        for (int size : sizes) {
            requireInRange("--batch-sizes", size, 1, OptionBounds.MAX_BENCH_BATCH_SIZE);
        }
        int defaultThreads = Nd4j.getEnvironment().maxMasterThreads();
        List<Integer> threadCounts = threads == null || threads.isEmpty() ? List.of(defaultThreads) : threads;
        for (int t : threadCounts) {
            requireInRange("--threads", t, 1, OptionBounds.MAX_BENCH_THREADS);
        }
        if (report != null) {
            requireDirectoryOrAbsent("--report", report);
        }
        if (json != null) {
            requireFileOrAbsent("--json", json);
        }
        int[] chw = Fp32Model.ZOO_INPUT;
        if (inputShape != null) {
            check(inputShape.size() == 3 && inputShape.stream().allMatch(d -> d > 0 && d <= 1_000_000), this,
                    "--input-shape must be C,H,W, each in 1..1000000, got " + inputShape);
            chw = inputShape.stream().mapToInt(Integer::intValue).toArray();
        }
        openSizes = chw;
        QuantizedModel q = QuantizedModel.load(EvalCommand.existing(quantized).toFile());
        long[] example = inputShape(q, 1, chw);
        long valuesPerExample = Arrays.stream(example).skip(1).reduce(1, Math::multiplyExact);
        for (int size : sizes) {
            requireInRange(batchSizes == null ? "--batch-size" : "--batch-sizes", size, 1,
                    OptionBounds.maxBenchBatchSize(valuesPerExample));
        }
        Fp32Model fp32 = normalizerOption.resolve(this, model, chw);
        ModelMatch.require(this, fp32, q, quantized, randomInputOfOpenSizes(q, 2));
        String mismatch = NormalizerOption.mismatch(fp32, q, quantized.toString());
        if (mismatch != null) {
            main.out.println(mismatch);
        }

        MachineInfo machine = MachineInfo.current();
        List<Row> rows = new ArrayList<>();
        int masterThreads = Nd4j.getEnvironment().maxMasterThreads();
        int maxThreads = Nd4j.getEnvironment().maxThreads();
        try {
            for (int t : threadCounts) {
                Nd4j.getEnvironment().setMaxMasterThreads(t);
                Nd4j.getEnvironment().setMaxThreads(t);
                for (int size : sizes) {
                    INDArray input = randomInputOfOpenSizes(q, size);
                    rows.add(new Row("fp32", t, time("bench fp32, batch " + size + ", " + t + " threads", size,
                            () -> fp32.output(input))));
                    rows.add(new Row("quantized", t, time("bench quantized, batch " + size + ", " + t + " threads",
                            size, () -> q.output(input))));
                }
            }
        } finally {
            Nd4j.getEnvironment().setMaxMasterThreads(masterThreads);
            Nd4j.getEnvironment().setMaxThreads(maxThreads);
        }
        ReportData.Speed s = speed(batches, rows.get(0).latency().batchSize(),
                Math.round(rows.get(0).latency().meanMs() * 1e6 * batches),
                Math.round(rows.get(1).latency().meanMs() * 1e6 * batches));
        print(machine, rows);
        if (json != null) {
            Path parent = json.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            AtomicFiles.writeString(json, json(machine, rows));
            main.out.println("json: " + json);
        }
        if (report != null) {
            ReportData r = Files.isRegularFile(report.resolve(ReportFiles.JSON)) ? ReportFiles.read(report)
                    : ReportBuilder.build(quantized.getFileName().toString(), q, null, null);
            main.out.println("report: " + ReportFiles.write(report, r.withSpeed(s)));
        }
        return Main.OK;
    }

    private void print(MachineInfo machine, List<Row> rows) {
        main.out.printf(Locale.ROOT, "machine: %s, %d cores; oneDNN ISA: %s%n", machine.cpu(), machine.cores(),
                machine.onednnIsa());
        main.out.printf(Locale.ROOT, "wall clock per batch after %d warm-up batches, %d timed batches each (not JMH):%n",
                warmup, batches);
        main.out.printf(Locale.ROOT, "  %-12s %6s %7s %10s %10s %10s %10s %10s %12s%n", "model", "batch", "threads",
                "median ms", "p90 ms", "p99 ms", "min ms", "max ms", "images/s");
        for (Row row : rows) {
            LatencyStats l = row.latency();
            main.out.printf(Locale.ROOT, "  %-12s %6d %7d %10.3f %10.3f %10.3f %10.3f %10.3f %12.1f%n",
                    row.model().equals("fp32") ? "fp32 (DL4J)" : row.model(), l.batchSize(), row.threads(),
                    l.medianMs(), l.p90Ms(), l.p99Ms(), l.minMs(), l.maxMs(), l.imagesPerSecond());
        }
        for (int i = 0; i + 1 < rows.size(); i += 2) {
            LatencyStats f = rows.get(i).latency();
            LatencyStats qs = rows.get(i + 1).latency();
            main.out.printf(Locale.ROOT, "  quantized speed / fp32 speed, batch %d, %d threads: %s (of the medians)%n",
                    f.batchSize(), rows.get(i).threads(), qs.medianMs() > 0
                            ? String.format(Locale.ROOT, "%.2fx", f.medianMs() / qs.medianMs())
                            : "below the clock's resolution");
        }
    }

    private String json(MachineInfo machine, List<Row> rows) throws java.io.IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("model", model);
        root.put("quantized", quantized.toString());
        ObjectNode m = root.putObject("machine");
        m.put("cpu", machine.cpu());
        m.put("cores", machine.cores());
        m.put("onednnIsa", machine.onednnIsa());
        root.put("warmupBatches", warmup);
        root.put("timedBatches", batches);
        ArrayNode results = root.putArray("results");
        for (Row row : rows) {
            LatencyStats l = row.latency();
            ObjectNode r = results.addObject();
            r.put("model", row.model());
            r.put("batchSize", l.batchSize());
            r.put("threads", row.threads());
            r.put("medianMs", l.medianMs());
            r.put("p90Ms", l.p90Ms());
            r.put("p99Ms", l.p99Ms());
            r.put("minMs", l.minMs());
            r.put("maxMs", l.maxMs());
            r.put("meanMs", l.meanMs());
            r.put("imagesPerSecond", l.imagesPerSecond());
        }
        return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
    }

    /** The wall-clock time of each timed call of {@code run}, after the warm-up calls. */
    private LatencyStats time(String task, int size, Runnable run) {
        long[] nanos = new long[batches];
        try (ProgressBar bar = main.progress.start(task, (long) warmup + batches, "batches")) {
            for (long i = 0; i < (long) warmup + batches; i++) {
                long t = System.nanoTime();
                run.run();
                if (i >= warmup) {
                    nanos[(int) (i - warmup)] = System.nanoTime() - t;
                }
                bar.step();
            }
        }
        return LatencyStats.of(nanos, size);
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
        return randomInput(q, batch, Fp32Model.ZOO_INPUT);
    }

    private INDArray randomInputOfOpenSizes(QuantizedModel q, int batch) {
        return randomInput(q, batch, openSizes);
    }

    static INDArray randomInput(QuantizedModel q, int batch, int[] chw) {
        Nd4j.getRandom().setSeed(1);
        return Nd4j.rand(DataType.FLOAT, inputShape(q, batch, chw));
    }

    /** The shape of {@link #randomInput}; an error when the model leaves sizes open that bench cannot choose. */
    static long[] inputShape(QuantizedModel q, int batch) {
        return inputShape(q, batch, Fp32Model.ZOO_INPUT);
    }

    /** {@link #inputShape(QuantizedModel, int)} with open image sizes (rank 4) from {@code chw}. */
    static long[] inputShape(QuantizedModel q, int batch, int[] chw) {
        TensorSpec spec = q.inputs().get(0);
        if (spec.shape() == null) {
            throw new QuantizationException("the model's input '" + spec.name() + "' has shape " + spec.shapeText()
                    + ": bench cannot choose its sizes");
        }
        long[] shape = spec.shape().clone();
        shape[0] = batch;
        for (int i = 2; i < shape.length && shape.length == 4; i++) {
            shape[i] = shape[i] < 1 ? chw[i - 1] : shape[i];
        }
        if (Arrays.stream(shape).anyMatch(d -> d < 1)) {
            throw new QuantizationException("the model's input '" + spec.name() + "' has shape " + spec.shapeText()
                    + ": bench cannot choose its open sizes");
        }
        return shape;
    }
}
