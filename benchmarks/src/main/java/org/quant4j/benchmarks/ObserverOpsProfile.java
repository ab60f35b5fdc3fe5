package org.quant4j.benchmarks;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.zoo.ZooModel;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.ObserverPass;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;
import org.quant4j.graph.QuantizationPoints;

/**
 * Where the observer ops of {@link ObserverOpsBenchmark} spend their time on a zoo model: the instrumented graph run
 * {@code runs} times (after one untimed run) on one random batch with a listener timing every op; prints the time per
 * op type, the network's own ops and the observer ops apart. A plain-timer profile for finding the cost, not a
 * benchmark.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar org.quant4j.benchmarks.ObserverOpsProfile ResNet50 4 [runs]}
 */
public final class ObserverOpsProfile {

    private ObserverOpsProfile() {
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: ObserverOpsProfile MODEL BATCH [RUNS]   (MODEL: LeNet, SimpleCNN, SqueezeNet,"
                    + " ResNet50)");
            System.exit(2);
        }
        int batch = Integer.parseInt(args[1]);
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        ZooModel<?> zoo = ZooInferenceBenchmark.zooModel(args[0]);
        int[] shape = zoo.metaData().getInputShape()[0];
        Model net = ZooInferenceBenchmark.initialized(zoo);
        ModelGraph graph = net instanceof MultiLayerNetwork m ? Dl4jConverter.convert(m)
                : Dl4jConverter.convert((ComputationGraph) net);
        Map<String, Integer> axes = new LinkedHashMap<>();
        for (QuantizableOp op : QuantizableOps.find(graph.graph())) {
            QuantizationPoints.Point point = QuantizationPoints.of(graph.graph(), op);
            axes.putIfAbsent(point.tensor(), point.axis());
        }
        Map<String, INDArray> feed = Map.of(graph.inputs().get(0).name(),
                Nd4j.rand(DataType.FLOAT, batch, shape[0], shape[1], shape[2]));
        // The points' ranks from one fp32 run (a dense layer's input has rank 2).
        Map<String, INDArray> values = new LinkedHashMap<>(feed);
        values.putAll(GraphExecution.output(graph.graph(), feed,
                axes.keySet().stream().filter(t -> !feed.containsKey(t)).toList()));
        Map<String, Integer> ranks = new LinkedHashMap<>();
        axes.keySet().forEach(t -> ranks.put(t, values.get(t).rank()));
        ObserverPass.Instrumented instrumented = ObserverPass.instrument(graph.graph(), axes, ranks,
                ChannelStatistics.DEFAULT_BINS);
        SameDiff sd = instrumented.graph();
        Timing timing = new Timing(java.util.Set.copyOf(graph.graph().getOps().keySet()));
        sd.output(feed, instrumented.outputs());
        sd.addListeners(timing);
        long start = System.nanoTime();
        for (int r = 0; r < runs; r++) {
            sd.output(feed, instrumented.outputs());
        }
        double total = (System.nanoTime() - start) / 1e6 / runs;
        System.out.printf(Locale.ROOT, "%s, batch %d, %d points: %.1f ms per run (listener included)%n", args[0], batch,
                axes.size(), total);
        timing.nanos.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(25)
                .forEach(e -> System.out.printf(Locale.ROOT, "  %-40s %9.1f ms  (%d calls)%n", e.getKey(),
                        e.getValue() / 1e6 / runs, timing.calls.get(e.getKey()) / (runs)));
    }

    /** Time per op type, the observer ops (those not in the network's graph) apart. */
    private static final class Timing extends BaseListener {
        final java.util.Set<String> networkOps;
        final Map<String, Long> nanos = new TreeMap<>();
        final Map<String, Long> calls = new TreeMap<>();
        private long began;

        Timing(java.util.Set<String> networkOps) {
            this.networkOps = networkOps;
        }

        @Override
        public boolean isActive(Operation operation) {
            return true;
        }

        @Override
        public void preOpExecution(SameDiff sd, At at, SameDiffOp op, OpContext opContext) {
            began = System.nanoTime();
        }

        @Override
        public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext opContext,
                INDArray[] outputs) {
            String key = (networkOps.contains(op.getName()) ? "network " : "observer ") + op.getOp().opName();
            nanos.merge(key, System.nanoTime() - began, Long::sum);
            calls.merge(key, 1L, Long::sum);
        }
    }
}
