package org.quant4j.benchmarks;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.deeplearning4j.zoo.ZooModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import org.quant4j.runtime.Int8Network;

/**
 * Where the int8 plan of a network spends its time, step by step: a zoo model of {@link ZooInferenceBenchmark} or a
 * network of {@link OrtComparisonBenchmark} or {@link LstmInferenceBenchmark} (28 steps), quantized as there, run {@code runs} times (default 50, after 50 untimed) on one random batch; prints the time per kind of step (int8
 * kernels, quantize steps, f32 primitives, islands) and the slowest steps. A plain-timer profile for finding the
 * cost, not a benchmark: the speed goals are measured with JMH.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar org.quant4j.benchmarks.PlanProfile ResNet50 8 [runs]}
 */
public final class PlanProfile {

    /** Untimed calls before the profile. */
    private static final int WARMUP = 50;

    private PlanProfile() {
    }

    /** Mean milliseconds of {@code call} over {@code runs} calls. */
    private static double wholeCall(int runs, Runnable call) {
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            call.run();
        }
        return (System.nanoTime() - start) / 1e6 / runs;
    }

    public static void main(String[] args) throws java.io.IOException {
        if (args.length < 2) {
            System.err.println("usage: PlanProfile MODEL BATCH [RUNS]   (MODEL: LeNet, SimpleCNN, SqueezeNet, ResNet50,"
                    + " DemoCNN, ResNetStyle, MobileNetStyle, lstm, lstm-attention)");
            System.exit(2);
        }
        int batch = Integer.parseInt(args[1]);
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        QuantizedModel q;
        INDArray input;
        if (List.of("lstm", "lstm-attention").contains(args[0])) {
            // LstmInferenceBenchmark's networks: 128 hidden units, 28 steps, calibrated on 4 random batches of 32
            MultiLayerNetwork net = LstmInferenceBenchmark.network(args[0], 128, 28);
            List<org.nd4j.linalg.dataset.DataSet> calibration = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                calibration.add(new org.nd4j.linalg.dataset.DataSet(Nd4j.rand(DataType.FLOAT,
                        LstmInferenceBenchmark.sequence(args[0], 32, 28)), Nd4j.zeros(DataType.FLOAT, 32, 10)));
            }
            q = org.quant4j.Quantizer.quantize(net,
                    new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(calibration, 32));
            input = Nd4j.rand(DataType.FLOAT, LstmInferenceBenchmark.sequence(args[0], batch, 28));
        } else if (List.of("DemoCNN", "ResNetStyle", "MobileNetStyle").contains(args[0])) {
            long[] image = OrtComparisonBenchmark.inputShape(args[0]);
            q = OrtComparisonBenchmark.quantize(OrtComparisonBenchmark.network(args[0]), image);
            input = Nd4j.rand(DataType.FLOAT, batch, image[0], image[1], image[2]);
        } else {
            ZooModel<?> zoo = ZooInferenceBenchmark.zooModel(args[0]);
            int[] shape = zoo.metaData().getInputShape()[0];
            q = ZooInferenceBenchmark.quantized(ZooInferenceBenchmark.initialized(zoo), shape);
            input = Nd4j.rand(DataType.FLOAT, batch, shape[0], shape[1], shape[2]);
        }
        q.outputs(QuantizedModel.Execution.INT8, input); // compiles the plan, or says why it cannot
        Int8Network int8 = q.int8Network();
        // Warm-up: the first tens of calls are up to twice as slow (the native allocator reaching its working set,
        // the JIT), as JMH's warm-up iterations also show.
        for (int i = 0; i < WARMUP; i++) {
            int8.outputs(input);
            q.outputs(QuantizedModel.Execution.INT8, input);
        }
        System.out.println(args[0] + ", batch " + batch + ": " + int8.summary(input.shape()));
        System.out.printf(Locale.ROOT, "whole call: QuantizedModel.outputs %.3f ms, Int8Network.outputs %.3f ms%n",
                wholeCall(runs, () -> q.outputs(QuantizedModel.Execution.INT8, input)),
                wholeCall(runs, () -> int8.outputs(input)));
        List<Int8Network.StepTime> steps = int8.profile(runs, input);
        double total = steps.stream().mapToDouble(Int8Network.StepTime::millis).sum();
        Map<String, double[]> byKind = new TreeMap<>();
        for (Int8Network.StepTime s : steps) {
            double[] k = byKind.computeIfAbsent(s.kind(), x -> new double[2]);
            k[0] += s.millis();
            k[1]++;
        }
        long macs = int8.int8Macs(input.shape());
        System.out.printf(Locale.ROOT, "%d steps, %.2f ms per call (mean of %d calls after %d untimed); int8"
                + " kernels: %.2f GMAC per call, %.0f GMAC/s over their own time%n", steps.size(), total, runs,
                WARMUP + 1, macs / 1e9, macs / 1e6 / steps.stream().filter(s -> s.kind().equals("conv2d")
                        || s.kind().equals("xw_plus_b") || s.kind().equals("matmul")
                        || s.kind().equals("depthwise_conv2d")).mapToDouble(Int8Network.StepTime::millis).sum());
        byKind.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]))
                .forEach(e -> System.out.printf(Locale.ROOT, "  %-14s %4d steps %9.2f ms %5.1f %%%n", e.getKey(),
                        (int) e.getValue()[1], e.getValue()[0], 100 * e.getValue()[0] / total));
        List<Int8Network.StepTime> slowest = new ArrayList<>(steps);
        slowest.sort((a, b) -> Double.compare(b.millis(), a.millis()));
        System.out.println("slowest steps:");
        slowest.stream().limit(15).forEach(s -> System.out.printf(Locale.ROOT, "  %8.3f ms  %s%n", s.millis(),
                s.label()));
    }
}
