package org.quant4j.benchmarks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.quant4j.calib.TensorObserver;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.reference.FashionCnn;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;

/**
 * The cost of calibration (goal: at most 1.5x a plain forward pass): the demo CNN converted to SameDiff, one batch of
 * 64 random [64, 1, 28, 28] images. {@code forward}: the graph's outputs; {@code forwardAndObserve}: the outputs
 * plus every quantized activation, each streamed into its per-channel observer. Compare the two scores as a ratio.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
public class CalibrationBenchmark {

    private ModelGraph graph;
    private Map<String, INDArray> feed;
    private String input;
    private List<String> observed;
    private List<String> withOutputs;
    private Map<String, TensorObserver> observers;

    @Setup
    public void setUp() {
        Nd4j.getRandom().setSeed(1);
        MultiLayerNetwork net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        graph = Dl4jConverter.convert(net);
        input = graph.inputs().get(0).name();
        feed = Map.of(input, Nd4j.rand(DataType.FLOAT, 64, 1, 28, 28));
        observers = new LinkedHashMap<>();
        for (QuantizableOp op : QuantizableOps.find(graph.graph())) {
            observers.putIfAbsent(op.activation(), new TensorObserver(op.activation(), op.activationAxis()));
        }
        observed = observers.keySet().stream().filter(t -> !t.equals(input)).toList();
        withOutputs = new ArrayList<>(graph.outputs());
        observed.stream().filter(t -> !withOutputs.contains(t)).forEach(withOutputs::add);
    }

    @Benchmark
    public Map<String, INDArray> forward() {
        return GraphExecution.output(graph.graph(), feed, graph.outputs());
    }

    @Benchmark
    public Map<String, INDArray> forwardAndObserve() {
        Map<String, INDArray> out = GraphExecution.output(graph.graph(), feed, withOutputs);
        for (TensorObserver o : observers.values()) {
            o.observe(o.tensor().equals(input) ? feed.get(input) : out.get(o.tensor()));
        }
        return out;
    }
}
