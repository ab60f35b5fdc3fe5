package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.PointNames;

/**
 * Whole networks in the int8 plan against their fake-quant graphs on real images: a ResNet-style graph (residual
 * adds, a stride-2 projection, global average pooling), a MobileNet-style network (depthwise and pointwise
 * convolutions), a SqueezeNet-style graph (sigmoid activations, concatenations) and a CNN with fp32
 * islands (a BatchNorm after a ReLU, LRN). Each is trained briefly on real data, quantized W8A8 (7-bit weights
 * without VNNI), and compared on 1,000 test images: top-1 agreement, and every quantization point's integer levels
 * step by step ({@link Int8Network#trace}).
 */
@Tag("slow")
class Int8GraphTest {

    private static final int IMAGES = 1_000;
    private static Datasets data;

    @BeforeAll
    static void data() {
        data = Datasets.fromEnvironment();
    }

    private static QuantizedModel trainAndQuantize(Model net, Dataset dataset) {
        DataSetIterator train = data.iterator(dataset, Split.TRAIN, Subset.first(384), 64);
        if (net instanceof ComputationGraph g) {
            g.fit(train);
        } else {
            ((MultiLayerNetwork) net).fit(train);
        }
        int weightBits = Dnnl.exactInt8Products() ? 8 : 7;
        DataSetIterator calibration = data.iterator(dataset, Split.TRAIN, Subset.random(256, 3L), 64);
        QuantizationOptions options = QuantizationOptions.builder().weightBits(weightBits).build();
        return net instanceof ComputationGraph g ? Quantizer.quantize(g, calibration, options)
                : Quantizer.quantize((MultiLayerNetwork) net, calibration, options);
    }

    /** Figures of one comparison. */
    private record Parity(long images, long agree, double maxProbabilityDiff, long levels, long levelsOff,
            int maxLevelDiff, long localOff, int maxLocalDiff) {
        double agreement() {
            return agree / (double) images;
        }
    }

    private static Parity compare(QuantizedModel model, Dataset dataset) {
        DataSetIterator test = data.iterator(dataset, Split.TEST, Subset.first(IMAGES), 250);
        long agree = 0;
        long total = 0;
        double maxDiff = 0;
        Levels levels = null;
        while (test.hasNext()) {
            DataSet batch = test.next();
            INDArray x = batch.getFeatures();
            INDArray int8 = model.outputs(Execution.INT8, x)[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
            agree += int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            total += x.size(0);
            maxDiff = Math.max(maxDiff, int8.sub(fake).amaxNumber().doubleValue());
            if (levels == null) {
                levels = levels(model, x);
            }
        }
        return new Parity(total, agree, maxDiff, levels.count, levels.off, levels.max, levels.localOff,
                levels.localMax);
    }

    /** How the plan's levels compare with the fake-quant graph's, over every quantization point. */
    record Levels(long count, long off, int max, long localOff, int localMax) {
    }

    /**
     * Every quantization point's integer levels in the plan ({@link Int8Network#trace}) against the fake-quant
     * graph's {@code <t>:q}: end to end (a level that differs upstream moves what follows), and locally: the
     * fake-quant graph with every {@code <t>:fq} replaced by the plan's own values, so that each point is computed
     * from the same inputs as in the plan and differs by float rounding alone (at most one step).
     */
    static Levels levels(QuantizedModel model, INDArray x) {
        Map<String, INDArray> trace = model.int8Network().trace(x);
        List<String> points = trace.keySet().stream().filter(PointNames::isLevels).toList();
        assertTrue(points.size() >= 3, "quantization points traced: " + points);
        String input = model.inputs().get(0).name();
        INDArray adapted = model.inputs().get(0).adapt(x);
        Map<String, INDArray> endToEnd = GraphExecution.output(model.graph(), Map.of(input, adapted), points);
        SameDiff local = model.graph().dup();
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(input, adapted);
        for (String q : points) {
            String fq = PointNames.fakeQuant(PointNames.tensorOf(q));
            SDVariable plan = local.placeHolder(fq + "#plan", DataType.FLOAT, (long[]) null);
            for (String reader : new ArrayList<>(local.getVariables().get(fq).getInputsForOp())) {
                SameDiffOp op = local.getOps().get(reader);
                for (int i = 0; i < op.getInputsToOp().size(); i++) {
                    if (op.getInputsToOp().get(i).equals(fq)) {
                        local.replaceArgFor(i, plan, op.getOp());
                    }
                }
            }
            feed.put(fq + "#plan", trace.get(fq));
        }
        Map<String, INDArray> sameInputs = GraphExecution.output(local, feed, points);
        long count = 0;
        long off = 0;
        int max = 0;
        long localOff = 0;
        int localMax = 0;
        for (String p : points) {
            INDArray d = trace.get(p).sub(endToEnd.get(p).castTo(DataType.FLOAT));
            INDArray l = trace.get(p).sub(sameInputs.get(p).castTo(DataType.FLOAT));
            count += d.length();
            off += d.neq(0).castTo(DataType.INT64).sumNumber().longValue();
            max = Math.max(max, d.amaxNumber().intValue());
            localOff += l.neq(0).castTo(DataType.INT64).sumNumber().longValue();
            localMax = Math.max(localMax, l.amaxNumber().intValue());
        }
        return new Levels(count, off, max, localOff, localMax);
    }

    private static Parity check(String name, QuantizedModel model, Dataset dataset, String... islands) {
        Parity p = compare(model, dataset);
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        String summary = model.int8Network().summary(new long[] {1, 784});
        System.out.printf("%s (%s): int8 plan vs fake-quant on %d %s test images: top-1 agreement %.2f%%, max |p diff|"
                + " %.2e; levels of every quantization point (%d values): %d differ end to end (by at most %d), %d"
                + " from the same inputs (by at most %d)%n", name, summary, p.images(), dataset, 100 * p.agreement(),
                p.maxProbabilityDiff(), p.levels(), p.levelsOff(), p.maxLevelDiff(), p.localOff(), p.maxLocalDiff());
        for (String island : islands) {
            assertTrue(summary.contains(island + "="), name + ": expected an fp32 island '" + island + "': " + summary);
        }
        assertEquals(IMAGES, p.images());
        assertTrue(p.agreement() >= 0.999, name + ": top-1 agreement " + p.agreement());
        assertTrue(p.maxLocalDiff() <= 1, name + ": from the same inputs, levels differ by up to " + p.maxLocalDiff());
        assertTrue(p.localOff() <= p.levels() / 10_000, name + ": from the same inputs, " + p.localOff() + " of "
                + p.levels() + " levels differ");
        assertTrue(p.levelsOff() <= p.levels() / 1000, name + ": " + p.levelsOff() + " of " + p.levels()
                + " levels differ end to end");
        assertTrue(p.maxProbabilityDiff() < 0.05, name + ": largest probability difference " + p.maxProbabilityDiff());
        return p;
    }

    @Test
    void resNetStyleGraphRunsInt8() throws Exception {
        QuantizedModel model = trainAndQuantize(TestNetworks.resNetStyle(), Dataset.MNIST);
        check("ResNet-style", model, Dataset.MNIST);
        String summary = model.int8Network().summary(new long[] {1, 784});
        // 6 convolutions and 2 dense layers, all integer; both residual adds and the ReLUs after them fused into the
        // convolution before each (oneDNN's sum post-op); islands: the input's reshape and the softmax
        assertTrue(summary.startsWith("8 int8 kernels (2 adding a residual)"), summary);
        sameResultsFromEightThreads(model);
        profileAndWork(model);
    }

    /**
     * The ResNet-style graph's int8 work counted by hand, per image: convolutions 28x28: stem 1->12 (3x3), a1 and
     * a2 12->12; 14x14: b1 12->24 (3x3), b2 24->24, bproj 12->24 (1x1); dense 24->32 and 32->10. And its profile:
     * one timed entry per step, the fused residual steps among them.
     */
    private static void profileAndWork(QuantizedModel model) {
        long perImage = 28 * 28 * 12 * 9 + 2L * 28 * 28 * 12 * 12 * 9 + 14 * 14 * 24 * 12 * 9 + 14 * 14 * 24 * 24 * 9
                + 14 * 14 * 24 * 12 + 24 * 32 + 32 * 10;
        assertEquals(8 * perImage, model.int8Network().int8Macs(new long[] {8, 784}));
        INDArray x = data.load(Dataset.MNIST, Split.TEST, Subset.first(8)).features();
        List<Int8Network.StepTime> steps = model.int8Network().profile(3, x);
        assertEquals(8, steps.stream().filter(s -> s.kind().equals("conv2d") || s.kind().equals("xw_plus_b")
                || s.kind().equals("matmul")).count(), steps.toString());
        assertEquals(2, steps.stream().filter(s -> s.kind().equals("conv2d") && s.label().contains(" + ")).count(),
                steps.toString());
        assertTrue(steps.stream().anyMatch(s -> s.kind().equals("quantize")), steps.toString());
        assertTrue(steps.stream().allMatch(s -> s.millis() >= 0) && steps.stream().mapToDouble(
                Int8Network.StepTime::millis).sum() > 0, steps.toString());
    }

    /**
     * The residual add fused into a convolution writes into the residual's own buffer only when nothing reads it
     * later: here the stem is concatenated with the block's output after the add, so the kernel adds into a copy
     * (were it to add in place, the concatenation would read the sum as the stem, and the parity would fail).
     */
    @Test
    void aResidualReadAfterTheAddIsAddedIntoACopy() {
        QuantizedModel model = trainAndQuantize(TestNetworks.residualReadAfterTheAdd(), Dataset.MNIST);
        check("residual read after the add", model, Dataset.MNIST);
        String summary = model.int8Network().summary(new long[] {1, 784});
        assertTrue(summary.startsWith("5 int8 kernels (1 adding a residual)"), summary);
    }

    @Test
    void mobileNetStyleNetworkRunsInt8() {
        QuantizedModel model = trainAndQuantize(TestNetworks.mobileNetStyle(), Dataset.FASHION_MNIST);
        check("MobileNet-style", model, Dataset.FASHION_MNIST);
        String summary = model.int8Network().summary(new long[] {1, 784});
        // 3 convolutions, 2 depthwise convolutions and the output layer, all integer; every BatchNorm folded
        assertTrue(summary.startsWith("6 int8 kernels"), summary);
        assertTrue(!summary.contains("batchnorm"), summary);
    }

    @Test
    void sigmoidAndConcatenationRunAsF32Steps() {
        QuantizedModel model = trainAndQuantize(TestNetworks.squeezeNetStyle(), Dataset.MNIST);
        check("SqueezeNet-style", model, Dataset.MNIST);
        String summary = model.int8Network().summary(new long[] {1, 784});
        // 8 convolutions and the output layer, all integer; the 7 sigmoids, 2 concatenations and the softmax are
        // oneDNN f32 steps: the island left is the input's reshape
        assertTrue(summary.startsWith("9 int8 kernels"), summary);
        assertTrue(summary.endsWith("1 fp32 island ops {reshape=1}"), summary);
    }

    @Test
    void unfoldedBatchNormAndLrnRunAsFp32Islands() {
        QuantizedModel model = trainAndQuantize(TestNetworks.islandCnn(), Dataset.MNIST);
        check("islands", model, Dataset.MNIST, "batchnorm", "lrn");
        // BatchNorm and LRN run as the library ops themselves (Nd4j.exec), the output's softmax as a oneDNN f32
        // step; the permutes around LRN (the converter runs lrn channels-last) are copies of the NHWC buffer
        // (ChannelsLastLowering), not islands
        INDArray x = data.load(Dataset.MNIST, Split.TEST, Subset.first(8)).features();
        List<String> islands = model.int8Network().profile(1, x).stream().filter(s -> s.kind().equals("island"))
                .map(Int8Network.StepTime::label).toList();
        for (String op : List.of("batchnorm", "lrn")) {
            assertTrue(islands.stream().anyMatch(l -> l.startsWith("island " + op + " ") && !l.endsWith("via SameDiff")),
                    op + " as a library op: " + islands);
        }
        assertTrue(islands.stream().noneMatch(l -> l.startsWith("island softmax ")), "softmax as an island: " + islands);
        assertTrue(islands.stream().noneMatch(l -> l.startsWith("island permute ")), "permute as an island: " + islands);
    }

    private static void sameResultsFromEightThreads(QuantizedModel model) throws Exception {
        INDArray x = data.load(Dataset.MNIST, Split.TEST, Subset.first(8)).features();
        INDArray expected = model.outputs(Execution.INT8, x)[0];
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                futures.add(pool.submit(() -> {
                    int mismatches = 0;
                    for (int i = 0; i < 25; i++) {
                        mismatches += model.outputs(Execution.INT8, x)[0].equals(expected) ? 0 : 1;
                    }
                    return mismatches;
                }));
            }
            for (Future<Integer> f : futures) {
                assertEquals(0, (int) f.get(), "calls whose result differs from the single-threaded one");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
