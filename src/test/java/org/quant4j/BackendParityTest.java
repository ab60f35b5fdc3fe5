package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.Histogram;
import org.quant4j.io.AtomicFiles;
import org.quant4j.reference.ReferenceNetwork;

/**
 * The same calibration and fake-quant graph on two ND4J backends: {@code scripts/gpu-check.sh} runs this once on the
 * CPU backend with {@code -Dquant4j.parity.write=DIR} (the networks, initialized here and saved there, and the
 * statistics and outputs as text) and once under {@code -Pcuda} with {@code -Dquant4j.parity.compare=DIR} (the same
 * networks loaded, the same inputs from {@link Random}), which compares with tolerances: two backends' fp32 kernels
 * round differently, so nothing is expected bit for bit. Without either property the test is skipped.
 *
 * <p>Per network (four reference networks, seeded initialization, not trained): calibration on four batches of 32
 * uniform random images with the Java observers and with the observer ops; per point and channel the count (equal),
 * the extremes and mean (within 1e-4 of the channel's scale), the standard deviation (1e-3 relative), the 1 %, 50 %
 * and 99 % quantiles of the histogram (within 1 % of the channel's range); then the fake-quant outputs of the default
 * quantization on 64 images (within 2e-3 absolute, top-1 equal on at least 62 of 64). On a backend other than the
 * CPU's, {@code output()} must give the fake-quant graph's outputs and {@code int8Unavailable()} name the backend.
 */
@Tag("slow")
class BackendParityTest {

    private static final ReferenceNetwork[] NETWORKS = {ReferenceNetwork.MLP_MNIST, ReferenceNetwork.LENET_MNIST,
        ReferenceNetwork.RESNET_FASHION, ReferenceNetwork.MOBILENET_FASHION};
    private static final double[] QUANTILES = {0.01, 0.5, 0.99};

    @Test
    void sameCalibrationAndFakeQuantOutputsAsTheOtherBackend() throws IOException {
        String write = System.getProperty("quant4j.parity.write");
        String compare = System.getProperty("quant4j.parity.compare");
        assumeTrue(write != null || compare != null, "set quant4j.parity.write or quant4j.parity.compare");
        Path dir = Path.of(write != null ? write : compare);
        Files.createDirectories(dir);
        System.out.println("backend " + Nd4j.getBackend().getClass().getSimpleName() + ", "
                + (write != null ? "writing " : "comparing with ") + dir);
        List<String> problems = new ArrayList<>();
        for (ReferenceNetwork ref : NETWORKS) {
            File file = dir.resolve(ref.id() + ".zip").toFile();
            Object net = write != null ? initialized(ref, file) : load(ref, file);
            Map<String, double[]> values = measure(ref, net);
            Path text = dir.resolve(ref.id() + ".txt");
            if (write != null) {
                AtomicFiles.writeString(text, format(values));
            } else {
                Map<String, double[]> expected = parse(Files.readString(text, StandardCharsets.UTF_8));
                problems.addAll(compare(ref.id(), expected, values));
            }
        }
        assertTrue(problems.isEmpty(), () -> problems.size() + " differences:\n" + String.join("\n",
                problems.subList(0, Math.min(50, problems.size()))));
    }

    /** Key to values: {@code <mode>/<point>/<channel>} statistics, {@code output/<row>} fake-quant outputs. */
    private static Map<String, double[]> measure(ReferenceNetwork ref, Object net) {
        Map<String, double[]> values = new LinkedHashMap<>();
        QuantizedModel fakeQuant = null;
        for (boolean ops : new boolean[] {false, true}) {
            QuantizationOptions options = QuantizationOptions.builder().calibrationBatches(4).observerOps(ops).build();
            Calibration calibration = net instanceof ComputationGraph g
                    ? Quantizer.calibrate(g, batches(ref, 4, 32, 11L), options)
                    : Quantizer.calibrate((MultiLayerNetwork) net, batches(ref, 4, 32, 11L), options);
            CalibrationSketch sketch = calibration.sketch();
            for (String tensor : sketch.tensors()) {
                ChannelStatistics[] channels = sketch.statistics(tensor);
                for (int c = 0; c < channels.length; c++) {
                    ChannelStatistics s = channels[c];
                    Histogram h = s.histogram();
                    double[] row = new double[5 + QUANTILES.length];
                    row[0] = s.count();
                    row[1] = s.min();
                    row[2] = s.max();
                    row[3] = s.mean();
                    row[4] = s.std();
                    for (int q = 0; q < QUANTILES.length; q++) {
                        row[5 + q] = h.quantile(QUANTILES[q]);
                    }
                    values.put((ops ? "ops/" : "java/") + tensor + "/" + c, row);
                }
            }
            if (!ops) {
                fakeQuant = calibration.quantize(options);
            }
        }
        INDArray x = batches(ref, 1, 64, 12L).next().getFeatures();
        INDArray y = fakeQuant.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        if (!Nd4j.getEnvironment().isCPU()) {
            // No int8 plan off the CPU backend: output() runs the fake-quant graph and the model says why.
            INDArray served = fakeQuant.output(x);
            String why = fakeQuant.int8Unavailable();
            assertTrue(why != null && why.contains(Nd4j.getBackend().getClass().getSimpleName()),
                    ref.id() + ": int8Unavailable() does not name the backend: " + why);
            assertEquals(y, served, ref.id() + ": output() is not the fake-quant graph's output");
        }
        for (int r = 0; r < y.size(0); r++) {
            values.put("output/" + r, y.getRow(r).dup().toDoubleVector());
        }
        return values;
    }

    private static List<String> compare(String network, Map<String, double[]> expected, Map<String, double[]> actual) {
        List<String> problems = new ArrayList<>();
        if (!expected.keySet().equals(actual.keySet())) {
            problems.add(network + ": other points, channels or outputs: " + expected.size() + " vs " + actual.size());
            return problems;
        }
        int top1 = 0;
        int rows = 0;
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            String key = network + " " + e.getKey();
            double[] a = e.getValue();
            double[] b = actual.get(e.getKey());
            if (e.getKey().startsWith("output/")) {
                rows++;
                top1 += argMax(a) == argMax(b) ? 1 : 0;
                for (int i = 0; i < a.length; i++) {
                    if (Math.abs(a[i] - b[i]) > 2e-3) {
                        problems.add(key + "[" + i + "]: " + a[i] + " vs " + b[i]);
                    }
                }
                continue;
            }
            double scale = Math.max(Math.max(Math.abs(a[1]), Math.abs(a[2])), 1e-6);
            double range = Math.max(a[2] - a[1], 1e-6);
            check(problems, key + " count", a[0], b[0], 0);
            check(problems, key + " min", a[1], b[1], 1e-4 * scale);
            check(problems, key + " max", a[2], b[2], 1e-4 * scale);
            check(problems, key + " mean", a[3], b[3], 1e-4 * scale);
            check(problems, key + " std", a[4], b[4], 1e-3 * Math.max(a[4], 1e-6 * scale));
            for (int q = 0; q < QUANTILES.length; q++) {
                check(problems, key + " quantile " + QUANTILES[q], a[5 + q], b[5 + q], 0.01 * range);
            }
        }
        if (rows > 0 && top1 < rows - 2) {
            problems.add(network + ": top-1 equal on " + top1 + " of " + rows + " images");
        }
        System.out.printf(Locale.ROOT, "%s: %d values compared, top-1 equal on %d of %d images%n", network,
                expected.size(), top1, rows);
        return problems;
    }

    private static void check(List<String> problems, String what, double expected, double actual, double tolerance) {
        if (!(Math.abs(expected - actual) <= tolerance) && !(Double.isNaN(expected) && Double.isNaN(actual))) {
            problems.add(what + ": " + expected + " vs " + actual + " (tolerance " + tolerance + ")");
        }
    }

    private static int argMax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            best = v[i] > v[best] ? i : best;
        }
        return best;
    }

    /** {@code batches} batches of uniform random images from {@link Random} (the same on every backend). */
    private static ListDataSetIterator<DataSet> batches(ReferenceNetwork ref, int batches, int size, long seed) {
        Random random = new Random(seed);
        List<DataSet> list = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            float[] pixels = new float[size * 28 * 28];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = random.nextFloat();
            }
            INDArray x = Nd4j.create(pixels, new long[] {size, 1, 28, 28}, DataType.FLOAT);
            list.add(new DataSet(x, Nd4j.zeros(DataType.FLOAT, size, 10)));
        }
        return new ListDataSetIterator<>(list, size);
    }

    private static Object initialized(ReferenceNetwork ref, File file) throws IOException {
        Model net = ref.untrained();
        ModelSerializer.writeModel(net, file, false);
        return net;
    }

    private static Object load(ReferenceNetwork ref, File file) throws IOException {
        assertTrue(file.isFile(), ref.id() + ": no network saved by the CPU run at " + file);
        return ref.configuration() instanceof ComputationGraphConfiguration
                ? ModelSerializer.restoreComputationGraph(file, false)
                : ModelSerializer.restoreMultiLayerNetwork(file, false);
    }

    private static String format(Map<String, double[]> values) {
        StringBuilder text = new StringBuilder();
        values.forEach((key, row) -> {
            text.append(key);
            for (double v : row) {
                text.append(' ').append(Double.toString(v));
            }
            text.append('\n');
        });
        return text.toString();
    }

    private static Map<String, double[]> parse(String text) {
        Map<String, double[]> values = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.split(" ");
            double[] row = new double[parts.length - 1];
            for (int i = 1; i < parts.length; i++) {
                row[i - 1] = Double.parseDouble(parts[i]);
            }
            values.put(parts[0], row);
        }
        assertEquals(false, values.isEmpty(), "no values in the CPU run's file");
        return values;
    }
}
