package org.quant4j.zoo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.data.Photos;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.report.SqnrMeter;

/**
 * One zoo model through the whole path: convert, compare SameDiff fp32 with DL4J, calibrate on real photos,
 * quantize (W8A8, default range method), compare int8 (fake-quant) with fp32 on other photos, and write the
 * model's row of the zoo table ({@link ZooTable}).
 */
final class ZooCheck {

    /** Largest max-relative error of the converted fp32 graph against DL4J. */
    static final double FP32_TOLERANCE = 1e-4;

    private ZooCheck() {
    }

    /** The least int8 output SQNR against fp32 a zoo model must reach (the zoo issue's criterion). */
    static final double MIN_SQNR_DB = 25;

    /** Timed calls per side (after one warm-up call); their median is reported. */
    static final int TIMED_CALLS = 3;

    /** The measured figures of one model. */
    record Result(String model, long parameters, double fp32Error, double sqnrDb, double top1Agreement,
            long fp32Bytes, long quantizedBytes, int calibrationSamples, int evaluationSamples, String input,
            String execution, Timing timing) {
    }

    /**
     * Rough wall times of one {@code output} call on the first evaluation batch: DL4J fp32 and the quantized model
     * (its int8 plan where it runs in int8). A reported measurement, never asserted: the JMH benchmarks measure speed.
     */
    record Timing(long batch, double dl4jMillis, double quantizedMillis) {
        double speedup() {
            return dl4jMillis / quantizedMillis;
        }
    }

    /**
     * @param calibration number of photo samples to calibrate on (samples 0..n-1)
     * @param evaluation  number of photo samples to evaluate on (the next ones)
     */
    static Result run(String name, Model net, int channels, int height, int width, int batch, int calibration,
            int evaluation) {
        Photos photos = Photos.fromEnvironment();
        ModelGraph graph = net instanceof MultiLayerNetwork m ? Dl4jConverter.convert(m)
                : Dl4jConverter.convert((ComputationGraph) net);
        String input = graph.inputs().get(0).name();

        // fp32: the converted graph against DL4J on the evaluation photos.
        List<INDArray> evalBatches = new ArrayList<>();
        for (int i = 0; i < evaluation; i += batch) {
            evalBatches.add(photos.samples(calibration + i, Math.min(batch, evaluation - i), channels, height, width));
        }
        List<INDArray> expected = new ArrayList<>();
        double fp32Error = 0;
        for (INDArray x : evalBatches) {
            INDArray dl4j = output(net, x);
            INDArray ours = GraphExecution.output(graph.graph(), Map.of(input, x), graph.outputs())
                    .get(graph.outputs().get(0));
            fp32Error = Math.max(fp32Error, relativeError(dl4j, ours));
            expected.add(dl4j);
        }
        assertTrue(fp32Error < FP32_TOLERANCE, name + ": fp32 SameDiff output differs from DL4J by " + fp32Error);
        // Timed now: the DL4J network's parameters are freed once quantized.
        INDArray timed = evalBatches.get(0);
        double dl4jMillis = medianMillis(() -> output(net, timed));

        // The fp32 references of the evaluation photos: the logits (the final layer before its activation) where there
        // is one, else the output: a softmax over random-weight logits saturates to one-hot, which would make the
        // output's SQNR meaningless (infinite). Computed now, so that the fp32 graph can be freed before quantizing.
        String last = graph.layerOutputs().get(graph.layerOutputs().size() - 1).layer();
        String logits = graph.graph().hasVariable(last + "/preact") ? last + "/preact" : graph.outputs().get(0);
        List<INDArray> references = new ArrayList<>();
        for (INDArray x : evalBatches) {
            references.add(GraphExecution.output(graph.graph(), Map.of(input, x), List.of(logits)).get(logits));
        }
        free(graph.graph());
        graph = null;
        long parameters = net.numParams();
        long fp32Bytes = fileSize(name + ".zip", f -> ModelSerializer.writeModel(net, f, false));

        // Calibrate on other photos, quantize W8A8 with the default options.
        List<DataSet> calib = new ArrayList<>();
        for (int i = 0; i < calibration; i += batch) {
            INDArray x = photos.samples(i, Math.min(batch, calibration - i), channels, height, width);
            calib.add(new DataSet(x, Nd4j.zeros(DataType.FLOAT, x.size(0), 1)));
        }
        DataSetIterator it = new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(calib, 1);
        QuantizedModel q = net instanceof MultiLayerNetwork m ? Quantizer.quantize(m, it)
                : Quantizer.quantize((ComputationGraph) net, it);
        // The DL4J network is not needed any more: its parameters and inference workspaces are freed now (large
        // models otherwise hold them until the garbage collector runs, beside the quantized model's graphs).
        if (net.params().closeable()) {
            net.params().close();
        }
        Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
        System.gc();

        var quantizedGraph = q.graph();
        SqnrMeter sqnr = new SqnrMeter();
        long agree = 0;
        long total = 0;
        long planAgree = 0;
        long planTotal = 0;
        for (int b = 0; b < evalBatches.size(); b++) {
            INDArray actual = q.output(evalBatches.get(b));
            if (q.execution() == QuantizedModel.Execution.INT8) {
                INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, evalBatches.get(b))[0];
                long[] plan = top1(fakeQuant, actual);
                planAgree += plan[0];
                planTotal += plan[1];
                requireTiesOnly(name, fakeQuant, actual);
            }
            INDArray simulated = GraphExecution.output(quantizedGraph, Map.of(input, evalBatches.get(b)),
                    List.of(logits)).get(logits);
            sqnr.add(references.get(b), simulated);
            long[] counts = top1(expected.get(b), actual);
            agree += counts[0];
            total += counts[1];
        }
        free(quantizedGraph);
        Timing timing = new Timing(timed.size(0), dl4jMillis, medianMillis(() -> q.output(timed)));
        long qBytes = fileSize(name + ".q4j", q::save);
        Result r = new Result(name, parameters, fp32Error, sqnr.sqnrDb(),
                total == 0 ? Double.NaN : (double) agree / total, fp32Bytes, qBytes, calibration, evaluation,
                channels + "x" + height + "x" + width,
                q.execution() == QuantizedModel.Execution.INT8 ? "int8 (oneDNN)"
                        : "fake-quant (int8 runtime: " + q.int8Unavailable().replace('|', '/') + ")", timing);
        System.out.printf("%s: fp32 match %.2e, W8A8 SQNR of " + logits + " %.2f dB, top-1 agreement %s, files %d -> %d bytes%n%s%n",
                name, fp32Error, r.sqnrDb(), r.top1Agreement(), fp32Bytes, qBytes, q.report().sqnrTable());
        System.out.printf(Locale.ROOT, "%s: output of a batch of %d, median of %d calls: DL4J fp32 %.1f ms, "
                + "quantized %.1f ms (%.2fx)%n", name, timing.batch(), TIMED_CALLS, timing.dl4jMillis(),
                timing.quantizedMillis(), timing.speedup());
        if (q.int8Network() != null) {
            System.out.printf("%s: int8 plan (%s), top-1 agreement with the fake-quant graph %d of %d%n", name,
                    q.int8Network().summary(evalBatches.get(0).shape()), planAgree, planTotal);
        }
        ZooTable.write(r);
        return r;
    }

    /** The median wall time in ms of {@link #TIMED_CALLS} calls of {@code call}, after one warm-up call. */
    private static double medianMillis(Supplier<INDArray> call) {
        call.get();
        double[] millis = new double[TIMED_CALLS];
        for (int i = 0; i < millis.length; i++) {
            long start = System.nanoTime();
            call.get();
            millis[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(millis);
        return millis[millis.length / 2];
    }

    /** Something that writes a file. */
    @FunctionalInterface
    private interface Writer {
        void write(File file) throws IOException;
    }

    /** The size of the file {@code writer} writes, in a temporary directory removed afterwards. */
    private static long fileSize(String fileName, Writer writer) {
        try {
            Path dir = Files.createTempDirectory("quant4j-zoo-");
            File file = dir.resolve(fileName).toFile();
            try {
                writer.write(file);
                return file.length();
            } finally {
                Files.deleteIfExists(file.toPath());
                Files.delete(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Frees the arrays of a graph this check made and no longer needs (native memory, else freed only by the GC). */
    private static void free(org.nd4j.autodiff.samediff.SameDiff sd) {
        for (org.nd4j.autodiff.samediff.SDVariable v : sd.variables()) {
            if (v.getVariableType() != org.nd4j.autodiff.samediff.VariableType.CONSTANT
                    && v.getVariableType() != org.nd4j.autodiff.samediff.VariableType.VARIABLE) {
                continue;
            }
            INDArray arr = v.getArr();
            if (arr != null && arr.closeable()) {
                arr.close();
            }
        }
    }

    static INDArray output(Model net, INDArray x) {
        return net instanceof MultiLayerNetwork m ? m.output(x, false) : ((ComputationGraph) net).outputSingle(false, x);
    }

    /** max |a - b| / max |a|. */
    static double relativeError(INDArray expected, INDArray actual) {
        if (!Arrays.equals(expected.shape(), actual.shape())) {
            return Double.POSITIVE_INFINITY;
        }
        INDArray e = expected.castTo(DataType.DOUBLE);
        return e.sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue()
                / Math.max(e.amaxNumber().doubleValue(), 1e-30);
    }

    /**
     * {agreeing, compared} arg-max positions: per row of [N, K] outputs, per pixel over the channel axis of
     * [N, C, H, W] outputs with C > 1; none for single-channel maps.
     */
    /** The largest top-1 margin (of the fake-quant graph's probabilities) counted as a tie. */
    static final double NEAR_TIE = 1e-3;

    /**
     * Fails unless every example on which the int8 plan's top-1 class differs from the fake-quant graph's is a near
     * tie: the graph's probability of its own class exceeds that of the plan's class by less than {@value #NEAR_TIE}
     * (the plan computes what the graph computes up to float rounding, so only such examples may flip), as
     * {@code RandomNetworkPropertiesTest} asks of small networks.
     */
    static void requireTiesOnly(String name, INDArray fakeQuant, INDArray int8) {
        if (fakeQuant.rank() != 2) {
            return;
        }
        for (int row = 0; row < fakeQuant.size(0); row++) {
            INDArray f = fakeQuant.getRow(row);
            int fTop = f.argMax().getInt(0);
            int pTop = int8.getRow(row).argMax().getInt(0);
            double margin = f.getDouble(fTop) - f.getDouble(pTop);
            if (fTop != pTop && margin >= NEAR_TIE) {
                throw new AssertionError(name + ": example " + row + ": the int8 plan chose class " + pTop
                        + ", the fake-quant graph class " + fTop + " by a margin of " + margin + " (a tie is below "
                        + NEAR_TIE + ")");
            }
        }
    }

    static long[] top1(INDArray expected, INDArray actual) {
        if (expected.rank() == 2 || (expected.rank() == 4 && expected.size(1) > 1)) {
            INDArray a = expected.argMax(1);
            INDArray b = actual.argMax(1);
            return new long[] {a.eq(b).castTo(DataType.INT64).sumNumber().longValue(), a.length()};
        }
        return new long[] {0, 0};
    }
}
