package org.quant4j.benchmarks;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.zoo.ZooModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.quant4j.calib.TensorObserver;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;
import org.quant4j.graph.QuantizationPoints;
import org.quant4j.quantize.OpObservers;
import org.quant4j.reference.ReferenceNetwork;

/**
 * Calibration time per batch, the Java observers against the observer ops in the graph (option {@code observerOps}),
 * side by side: {@code java} runs the fp32 graph with every quantization point as an output and streams each into
 * its per-channel observer (what calibration does without the option); {@code ops} runs the graph instrumented by
 * {@code graph.ObserverPass} and merges the per-channel summaries it returns. Both observe the same points of the
 * converted network (BatchNorm not folded, as it costs the same either way) on one batch: ResNet-50 (DL4J zoo,
 * weights at He's scale) on 4 uniform random 3x224x224 images, each reference network (seeded, untrained) on 32
 * random 28x28 images. The first batch, which both observe in Java, is in the setup.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx6g"})
public class ObserverOpsBenchmark {

    @Param({"ResNet50", "mlp-mnist", "lenet-mnist", "resnet-fashion", "mobilenet-fashion", "elu-mlp-mnist",
        "tanh-mlp-fashion", "leaky-cnn-fashion", "sigmoid-lenet-mnist", "inception-fashion", "separable-fashion",
        "mixed-graph-fashion", "wide-cnn-fashion"})
    public String model;

    @Param({"java", "ops"})
    public String observers;

    private ModelGraph graph;
    private Map<String, INDArray> feed;
    private List<String> computed;
    private Map<String, TensorObserver> watched;
    private OpObservers opObservers;

    @Setup
    public void setUp() {
        Nd4j.getRandom().setSeed(1);
        Model net;
        long[] shape;
        if (model.equals("ResNet50")) {
            ZooModel<?> zoo = ZooInferenceBenchmark.zooModel(model);
            net = ZooInferenceBenchmark.initialized(zoo);
            shape = new long[] {4, 3, 224, 224};
        } else {
            ReferenceNetwork ref = ReferenceNetwork.byId(model);
            net = ref.untrained();
            shape = new long[] {32, 1, 28, 28};
        }
        graph = net instanceof MultiLayerNetwork m ? Dl4jConverter.convert(m) : Dl4jConverter.convert((ComputationGraph) net);
        String input = graph.inputs().get(0).name();
        long[] declared = graph.inputs().get(0).shape();
        INDArray x = Nd4j.rand(DataType.FLOAT, shape);
        if (declared.length == 2) {
            x = x.reshape(shape[0], shape[1] * shape[2] * shape[3]);
        }
        feed = Map.of(input, x);
        watched = new LinkedHashMap<>();
        for (QuantizableOp op : QuantizableOps.find(graph.graph())) {
            QuantizationPoints.Point point = QuantizationPoints.of(graph.graph(), op);
            watched.putIfAbsent(point.tensor(), new TensorObserver(point.tensor(), point.axis()));
        }
        computed = watched.keySet().stream().filter(t -> !feed.containsKey(t)).toList();
        observeInJava(); // the first batch: the ranks the observer ops are built for
        if (observers.equals("ops")) {
            opObservers = OpObservers.of(graph, watched);
        } else if (!observers.equals("java")) {
            throw new IllegalArgumentException("observers: java or ops, got '" + observers + "'");
        }
    }

    @Benchmark
    public Object calibrationBatch() {
        if (opObservers != null) {
            if (!opObservers.observe(feed, watched)) {
                throw new IllegalStateException("the observer ops' summaries were refused");
            }
            return watched;
        }
        return observeInJava();
    }

    private Object observeInJava() {
        Map<String, INDArray> values = new LinkedHashMap<>(feed);
        values.putAll(GraphExecution.output(graph.graph(), feed, computed));
        for (TensorObserver o : watched.values()) {
            o.observe(values.get(o.tensor()));
        }
        return values;
    }
}
