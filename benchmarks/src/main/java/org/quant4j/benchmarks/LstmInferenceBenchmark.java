package org.quant4j.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
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
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.ModelGraph;

/**
 * Inference latency of a sequence classifier (MNIST-shaped: {@code steps} steps of 28 features; untrained weights:
 * speed does not depend on them), {@code model} {@code lstm}: an LSTM of {@code hidden} units read at its last step
 * (NWC), a softmax layer of 10; {@code lstm-attention}: an LSTM of {@code hidden} units, a SelfAttentionLayer (4
 * heads, projections), average pooling over the steps, a softmax layer of 10 (NCW: DL4J's attention layers take NCW
 * only); side by side in one run: DL4J fp32 ({@code MultiLayerNetwork.output}), the same network converted to
 * SameDiff and run in fp32 ({@code SameDiff.output}, the unrolled graph quant4j quantizes), and the quantized model
 * in its int8 plan (the input products and the output layer as int8 kernels, the LSTM as one step with int8
 * recurrent products and dynamic hidden-state levels), and the network quantized dynamically
 * ({@code Quantizer.quantizeDynamic}: every product's input levels computed per call) in its int8 plan.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
public class LstmInferenceBenchmark {

    @Param({"lstm"})
    String model;

    @Param({"32"})
    int batch;

    @Param({"28"})
    int steps;

    @Param({"128"})
    int hidden;

    private MultiLayerNetwork net;
    private SameDiff fp32Graph;
    private String graphInput;
    private String graphOutput;
    private QuantizedModel quantized;
    private QuantizedModel dynamic;
    private INDArray input;

    @Setup
    public void setUp() {
        Nd4j.getRandom().setSeed(1);
        net = network(model, hidden, steps);
        ModelGraph graph = Dl4jConverter.convert(net, steps);
        fp32Graph = graph.graph();
        graphInput = graph.inputs().get(0).name();
        graphOutput = graph.outputs().get(0);
        List<DataSet> calibration = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            calibration.add(new DataSet(Nd4j.rand(DataType.FLOAT, sequence(model, 32, steps)),
                    Nd4j.zeros(DataType.FLOAT, 32, 10)));
        }
        quantized = Quantizer.quantize(net, new ListDataSetIterator<>(calibration, 32));
        input = Nd4j.rand(DataType.FLOAT, sequence(model, batch, steps));
        if (quantized.execution() != QuantizedModel.Execution.INT8) {
            throw new IllegalStateException("no int8 plan: " + quantized.int8Unavailable());
        }
        quantized.output(input);
        System.out.println("int8: " + quantized.int8Network().summary(input.shape()));
        dynamic = Quantizer.quantizeDynamic(net, steps, QuantizationOptions.defaults());
        if (dynamic.execution() != QuantizedModel.Execution.INT8) {
            throw new IllegalStateException("no dynamic int8 plan: " + dynamic.int8Unavailable());
        }
        dynamic.output(input);
        System.out.println("dynamic int8: " + dynamic.int8Network().summary(input.shape()));
    }

    /** The benchmark's network {@code model} ({@code lstm}, {@code lstm-attention}), untrained, seeded. */
    static MultiLayerNetwork network(String model, int hidden, int steps) {
        boolean attention = "lstm-attention".equals(model);
        if (!attention && !"lstm".equals(model)) {
            throw new IllegalArgumentException("model is lstm or lstm-attention: " + model);
        }
        NeuralNetConfiguration.ListBuilder layers = new NeuralNetConfiguration.Builder().seed(20)
                .dataType(DataType.FLOAT).list();
        if (attention) {
            layers.layer(new LSTM.Builder().name("lstm").nOut(hidden).activation(Activation.TANH).build())
                    .layer(new SelfAttentionLayer.Builder().name("attention").nOut(hidden).nHeads(4)
                            .projectInput(true).build())
                    .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build());
        } else {
            layers.layer(new LastTimeStep(new LSTM.Builder().name("lstm").nOut(hidden).activation(Activation.TANH)
                    .dataFormat(RNNFormat.NWC).build()));
        }
        MultiLayerNetwork net = new MultiLayerNetwork(layers.layer(new OutputLayer.Builder(
                LossFunctions.LossFunction.MCXENT).name("out").nOut(10).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(28, steps, attention ? RNNFormat.NCW : RNNFormat.NWC)).build());
        net.init();
        return net;
    }

    /** The input shape of {@code model} for {@code examples} sequences of {@code steps} steps of 28 features. */
    static long[] sequence(String model, int examples, int steps) {
        return "lstm".equals(model) ? new long[] {examples, steps, 28} : new long[] {examples, 28, steps};
    }

    @Benchmark
    public void dl4jFp32(Blackhole bh) {
        bh.consume(net.output(input, false));
    }

    @Benchmark
    public void sameDiffFp32(Blackhole bh) {
        bh.consume(fp32Graph.output(Map.of(graphInput, input), graphOutput));
    }

    @Benchmark
    public void quant4jInt8(Blackhole bh) {
        bh.consume(quantized.outputs(QuantizedModel.Execution.INT8, input));
    }

    @Benchmark
    public void quant4jDynamicInt8(Blackhole bh) {
        bh.consume(dynamic.outputs(QuantizedModel.Execution.INT8, input));
    }
}
