package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/**
 * SelfAttentionLayer and RecurrentAttentionLayer against DL4J (fp32, every layer's output,
 * relative error below 1e-5), with and without projections, with and without feature masks; LearnedSelfAttentionLayer
 * against libnd4j's attention op.
 */
class AttentionConvertersTest {

    private static final int FEATURES = 5;
    private static final int STEPS = 6;

    static Stream<Arguments> attentionLayers() {
        return Stream.of(
                Arguments.of("SelfAttention 2 heads", new SelfAttentionLayer.Builder().nOut(8).nHeads(2)
                        .projectInput(true).build()),
                Arguments.of("SelfAttention 3 heads of 4", new SelfAttentionLayer.Builder().nOut(6).nHeads(3)
                        .headSize(4).projectInput(true).build()),
                Arguments.of("SelfAttention without projection", new SelfAttentionLayer.Builder().nIn(6).nOut(6)
                        .nHeads(1).projectInput(false).build()),
                Arguments.of("RecurrentAttention 2 heads", new RecurrentAttentionLayer.Builder().nOut(6).nHeads(2)
                        .projectInput(true).activation(Activation.TANH).build()),
                Arguments.of("RecurrentAttention without projection", new RecurrentAttentionLayer.Builder().nIn(6)
                        .nOut(6).nHeads(1).projectInput(false).hasBias(false).activation(Activation.RELU).build()));
    }

    /** LSTM (6 units), the attention layer, average pooling over the steps and a classifier. */
    private static MultiLayerNetwork net(Layer attention) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(131).list()
                .layer(new LSTM.Builder().nOut(6).activation(Activation.TANH).build())
                .layer(attention.clone())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS)).build());
        net.init();
        // larger weights than the initializer's, so that the attention weights are far from uniform
        net.params().muli(2.5);
        return net;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attentionLayers")
    void attentionMatchesDl4j(String name, Layer layer) {
        Nd4j.getRandom().setSeed(137);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, FEATURES, STEPS);
        double error = LayerParity.maxLayerError(net(layer), x);
        assertTrue(error < 1e-5, name + ": relative error " + error);
    }

    /** A full sequence, one padded at the end, one at the start, one with a hole: the keys masked as DL4J does. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("attentionLayers")
    void maskedAttentionMatchesDl4j(String name, Layer layer) {
        INDArray mask = Nd4j.ones(DataType.FLOAT, 4, STEPS);
        mask.get(NDArrayIndex.point(1), NDArrayIndex.interval(3, STEPS)).assign(0);
        mask.get(NDArrayIndex.point(2), NDArrayIndex.interval(0, 2)).assign(0);
        mask.putScalar(3, 4, 0);
        Nd4j.getRandom().setSeed(139);
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, FEATURES, STEPS);
        MultiLayerNetwork net = net(layer);
        ModelGraph graph = Dl4jConverter.convert(net, STEPS, true);
        List<String> variables = graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList();
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("input", x, "input_mask", mask),
                variables);
        for (int i = 0; i < variables.size(); i++) {
            INDArray expected = net.feedForward(x.dup(), mask, null).get(i + 1).dup('c');
            double error = Dl4jConverterTest.relativeError(expected, ours.get(variables.get(i)));
            assertTrue(error < 1e-5, name + ", layer " + i + ": relative error " + error);
        }
        INDArray output = net.output(x.dup(), false, mask, null);
        double error = Dl4jConverterTest.relativeError(output.dup('c'), ours.get(variables.get(variables.size() - 1)));
        assertTrue(error < 1e-5, name + ", output: relative error " + error);
    }

    static Stream<Arguments> learnedAttention() {
        return Stream.of(
                Arguments.of("2 heads, 3 queries", new LearnedSelfAttentionLayer.Builder().nOut(8).nHeads(2).nQueries(3)
                        .projectInput(true).build(), false),
                Arguments.of("2 heads, 3 queries, masked", new LearnedSelfAttentionLayer.Builder().nOut(8).nHeads(2)
                        .nQueries(3).projectInput(true).build(), true),
                Arguments.of("without projection, masked", new LearnedSelfAttentionLayer.Builder().nIn(6).nOut(6)
                        .nHeads(1).nQueries(4).projectInput(false).build(), true));
    }

    /**
     * LearnedSelfAttentionLayer: DL4J M2.1 fails to run it (its tiling of the queries fails in scatter_update), so
     * the layer's output is compared with libnd4j's attention op that DL4J's layer calls, given the queries tiled
     * here, the layer's parameters and the LSTM's output as DL4J computes it; the rest of the network (global
     * pooling, no longer masked, as DL4J passes no mask on) against DL4J's layers.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("learnedAttention")
    void learnedSelfAttentionMatchesLibnd4jAttention(String name, LearnedSelfAttentionLayer layer, boolean masked) {
        Nd4j.getRandom().setSeed(149);
        int batch = 4;
        INDArray x = Nd4j.randn(DataType.FLOAT, batch, FEATURES, STEPS);
        INDArray mask = Nd4j.ones(DataType.FLOAT, batch, STEPS);
        mask.get(NDArrayIndex.point(1), NDArrayIndex.interval(3, STEPS)).assign(0);
        mask.get(NDArrayIndex.point(2), NDArrayIndex.interval(0, 2)).assign(0);
        MultiLayerNetwork net = net(layer);
        ModelGraph graph = Dl4jConverter.convert(net, STEPS, masked);
        Map<String, INDArray> feed = masked ? Map.of("input", x, "input_mask", mask) : Map.of("input", x);
        List<String> variables = graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList();
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), feed, variables);

        INDArray lstm = net.feedForwardToLayer(0, x.dup(), false).get(1).dup('c');
        Map<String, INDArray> p = net.getLayer(1).paramTable();
        SameDiff sd = SameDiff.create();
        SDVariable in = sd.placeHolder("in", DataType.FLOAT, -1, 6, STEPS);
        SDVariable queries = sd.constant(Nd4j.repeat(p.get("Q"), batch).reshape(batch, 6, layer.getNQueries()));
        SDVariable m = sd.constant(mask);
        SDVariable out = layer.isProjectInput()
                ? sd.nn.multiHeadDotProductAttention("out", queries, in, in, sd.constant(p.get("Wq")),
                        sd.constant(p.get("Wk")), sd.constant(p.get("Wv")), sd.constant(p.get("Wo")),
                        masked ? m : null, true)
                : sd.nn.dotProductAttention("out", queries, in, in, masked ? m : null, true);
        INDArray expected = out.eval(Map.of("in", lstm));
        double error = Dl4jConverterTest.relativeError(expected, ours.get(variables.get(1)));
        assertTrue(error < 1e-5, name + ": relative error " + error);
        INDArray pooled = expected.mean(2);
        double poolError = Dl4jConverterTest.relativeError(pooled, ours.get(variables.get(2)));
        assertTrue(poolError < 1e-5, name + ", pooled without mask: relative error " + poolError);
    }
}
