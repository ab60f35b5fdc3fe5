package org.quant4j.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.model.LeNet;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SimpleCNN;
import org.deeplearning4j.zoo.model.SqueezeNet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
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
import org.openjdk.jmh.infra.Blackhole;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.reference.HeScaling;

/**
 * Inference latency of DL4J zoo models (random weights rescaled to He's scale, 10 classes, their own input sizes):
 * DL4J fp32, the same network converted to SameDiff fp32, and quant4j's int8 plan (default options), side by side
 * in one JMH run. Throughput is batch / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgs = {"-Xmx8g"})
public class ZooInferenceBenchmark {

    @Param({"LeNet", "SimpleCNN", "SqueezeNet", "ResNet50"})
    String model;

    @Param({"1", "8"})
    int batch;

    private Model net;
    private ModelGraph fp32Graph;
    private QuantizedModel quantized;
    private INDArray input;

    @Setup
    public void setUp() {
        ZooModel<?> zoo = zooModel(model);
        net = initialized(zoo);
        int[] shape = zoo.metaData().getInputShape()[0];
        quantized = quantized(net, shape);
        fp32Graph = net instanceof MultiLayerNetwork m ? Dl4jConverter.convert(m)
                : Dl4jConverter.convert((ComputationGraph) net);
        input = Nd4j.rand(DataType.FLOAT, batch, shape[0], shape[1], shape[2]);
        quantized.outputs(QuantizedModel.Execution.INT8, input); // fails here, not in the benchmark, without int8
    }

    /** The zoo model of that name, 10 classes. */
    static ZooModel<?> zooModel(String model) {
        return switch (model) {
            case "LeNet" -> LeNet.builder().numClasses(10).build();
            case "SimpleCNN" -> SimpleCNN.builder().numClasses(10).build();
            case "SqueezeNet" -> SqueezeNet.builder().numClasses(10).build();
            case "ResNet50" -> ResNet50.builder().numClasses(10).build();
            default -> throw new IllegalArgumentException("unknown model '" + model
                    + "' (LeNet, SimpleCNN, SqueezeNet or ResNet50)");
        };
    }

    /** The network, its weights at He's scale. */
    static Model initialized(ZooModel<?> zoo) {
        Model net = zoo.init();
        HeScaling.rescale(net);
        return net;
    }

    /** Quantized with the default options, calibrated on two batches of 4 uniform random inputs (seed 1). */
    static QuantizedModel quantized(Model net, int[] shape) {
        Nd4j.getRandom().setSeed(1);
        List<DataSet> calibration = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            calibration.add(new DataSet(Nd4j.rand(DataType.FLOAT, 4, shape[0], shape[1], shape[2]),
                    Nd4j.zeros(DataType.FLOAT, 4, 10)));
        }
        return net instanceof MultiLayerNetwork m ? Quantizer.quantize(m, new ListDataSetIterator<>(calibration, 1))
                : Quantizer.quantize((ComputationGraph) net, new ListDataSetIterator<>(calibration, 1));
    }

    @Benchmark
    public void dl4jFp32(Blackhole bh) {
        bh.consume(net instanceof MultiLayerNetwork m ? m.output(input, false)
                : ((ComputationGraph) net).outputSingle(false, input));
    }

    @Benchmark
    public void sameDiffFp32(Blackhole bh) {
        bh.consume(GraphExecution.output(fp32Graph.graph(), Map.of(fp32Graph.inputs().get(0).name(), input),
                fp32Graph.outputs()));
    }

    @Benchmark
    public void quant4jInt8(Blackhole bh) {
        bh.consume(quantized.outputs(QuantizedModel.Execution.INT8, input));
    }
}
