package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.preprocessor.CnnToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/**
 * LSTM, GravesLSTM, LastTimeStep, RnnOutputLayer, RnnLossLayer and the recurrent preprocessors against DL4J (fp32,
 * every layer's output, relative error below 1e-5), on full-length sequences in NCW and NWC.
 */
class RecurrentConvertersTest {

    private static final int FEATURES = 5;
    private static final int STEPS = 7;
    private static final int BATCH = 3;

    static Stream<Arguments> recurrentLayers() {
        return Stream.of(
                Arguments.of("LSTM", new LSTM.Builder().nOut(6).build()),
                Arguments.of("LSTM hard sigmoid gates, softsign", new LSTM.Builder().nOut(4)
                        .gateActivationFunction(Activation.HARDSIGMOID).activation(Activation.SOFTSIGN).build()),
                Arguments.of("LSTM tanh", new LSTM.Builder().nOut(4).activation(Activation.TANH).build()),
                Arguments.of("GravesLSTM", new GravesLSTM.Builder().nOut(6).build()),
                Arguments.of("SimpleRnn", new SimpleRnn.Builder().nOut(5).build()),
                Arguments.of("SimpleRnn relu", new SimpleRnn.Builder().nOut(4).activation(Activation.RELU).build()),
                Arguments.of("GravesLSTM tanh, 1 unit", new GravesLSTM.Builder().nOut(1).activation(Activation.TANH)
                        .build()));
    }

    /** Two recurrent layers, then an RnnOutputLayer (softmax per step). */
    @ParameterizedTest(name = "{0} NCW")
    @MethodSource("recurrentLayers")
    void recurrentLayerMatchesDl4j(String name, Layer layer) {
        check(name, sequenceNet(layer, RNNFormat.NCW), sequences(RNNFormat.NCW));
    }

    @ParameterizedTest(name = "{0} NWC")
    @MethodSource("recurrentLayers")
    void nwcRecurrentLayerMatchesDl4j(String name, Layer layer) {
        check(name + " NWC", sequenceNet(layer, RNNFormat.NWC), sequences(RNNFormat.NWC));
    }

    private static MultiLayerNetwork sequenceNet(Layer layer, RNNFormat format) {
        Layer first = layer.clone();
        ((org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer) first).setRnnDataFormat(format);
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(41).list()
                .layer(first)
                .layer(new LSTM.Builder().nOut(5).dataFormat(format).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).dataFormat(format).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        net.init();
        perturbBiases(net);
        return net;
    }

    /** LastTimeStep over an LSTM, then a dense classifier (the usual sequence classifier). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void lastTimeStepMatchesDl4j(RNNFormat format) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(43).list()
                .layer(new LSTM.Builder().nOut(6).dataFormat(format).build())
                .layer(new LastTimeStep(new GravesLSTM.Builder().nOut(5).dataFormat(format).build()))
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        net.init();
        perturbBiases(net);
        check("LastTimeStep " + format, net, sequences(format));
    }

    /** RnnLossLayer with softmax over the features of each step, and a per-step dense layer through preprocessors. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void rnnLossLayerAndFeedForwardPreprocessorsMatchDl4j(RNNFormat format) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(47).list()
                .layer(new LSTM.Builder().nOut(6).dataFormat(format).build())
                .layer(new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build())
                .layer(new LSTM.Builder().nOut(3).dataFormat(format).build())
                .layer(new RnnLossLayer.Builder().activation(Activation.SOFTMAX).dataFormat(format).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        net.init();
        assertTrue(net.getLayerWiseConfigurations().getInputPreProcess(1) instanceof RnnToFeedForwardPreProcessor);
        assertTrue(net.getLayerWiseConfigurations().getInputPreProcess(2) instanceof FeedForwardToRnnPreProcessor);
        perturbBiases(net);
        check("RnnLossLayer " + format, net, sequences(format));
    }

    /** A convolution at each time step (RnnToCnn), then back to a sequence (CnnToRnn) for an LSTM. */
    @Test
    void cnnPreprocessorsMatchDl4j() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(53).list()
                .layer(new ConvolutionLayer.Builder(2, 2).nIn(2).nOut(3).activation(Activation.RELU).build())
                .layer(new LSTM.Builder().nIn(3 * 3 * 3).nOut(4).build())
                .layer(new RnnOutputLayer.Builder().nIn(4).nOut(2).activation(Activation.SOFTMAX).build())
                .inputPreProcessor(0, new RnnToCnnPreProcessor(4, 4, 2))
                .inputPreProcessor(1, new CnnToRnnPreProcessor(3, 3, 3))
                .build());
        net.init();
        check("RnnToCnn and CnnToRnn", net, Nd4j.randn(DataType.FLOAT, BATCH, 2 * 4 * 4, STEPS));
    }

    /**
     * Feature masks [N, T]: a full sequence, one padded at the end, one padded at the start (DL4J's ALIGN_END), one
     * with a hole. LSTM, GravesLSTM in LastTimeStep (each example's last unmasked step), masked global pooling and a
     * per-step output layer, every layer against DL4J given the same mask.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void masksMatchDl4j(RNNFormat format) {
        INDArray mask = Nd4j.ones(DataType.FLOAT, 4, STEPS);
        mask.get(NDArrayIndex.point(1), NDArrayIndex.interval(4, STEPS)).assign(0);
        mask.get(NDArrayIndex.point(2), NDArrayIndex.interval(0, 3)).assign(0);
        mask.putScalar(3, 2, 0);
        Nd4j.getRandom().setSeed(67);
        INDArray x = format == RNNFormat.NWC ? Nd4j.randn(DataType.FLOAT, 4, STEPS, FEATURES)
                : Nd4j.randn(DataType.FLOAT, 4, FEATURES, STEPS);
        MultiLayerNetwork last = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(71).list()
                .layer(new LSTM.Builder().nOut(6).dataFormat(format).build())
                .layer(new LastTimeStep(new GravesLSTM.Builder().nOut(5).dataFormat(format).build()))
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        last.init();
        perturbBiases(last);
        assertMasked("LastTimeStep(GravesLSTM) " + format, last, x, mask);
        MultiLayerNetwork lastLstm = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(72).list()
                .layer(new LastTimeStep(new LSTM.Builder().nOut(5).dataFormat(format).build()))
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        lastLstm.init();
        perturbBiases(lastLstm);
        assertMasked("LastTimeStep(LSTM) " + format, lastLstm, x, mask);
        MultiLayerNetwork lastRnn = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(74).list()
                .layer(new SimpleRnn.Builder().nOut(6).dataFormat(format).build())
                .layer(new LastTimeStep(new SimpleRnn.Builder().nOut(5).activation(Activation.TANH).dataFormat(format)
                        .build()))
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        lastRnn.init();
        perturbBiases(lastRnn);
        assertMasked("LastTimeStep(SimpleRnn) " + format, lastRnn, x, mask);
        MultiLayerNetwork perStep = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(73).list()
                .layer(new LSTM.Builder().nOut(6).dataFormat(format).build())
                .layer(new RnnOutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).dataFormat(format).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        perStep.init();
        assertMasked("RnnOutputLayer " + format, perStep, x, mask);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("poolingTypes")
    void maskedGlobalPoolingMatchesDl4j(PoolingType type) {
        INDArray mask = Nd4j.ones(DataType.FLOAT, 3, STEPS);
        mask.get(NDArrayIndex.point(1), NDArrayIndex.interval(2, STEPS)).assign(0);
        mask.get(NDArrayIndex.point(2), NDArrayIndex.interval(0, 5)).assign(0);
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(79).list()
                .layer(new LSTM.Builder().nOut(6).activation(Activation.TANH).build())
                .layer(new GlobalPoolingLayer.Builder(type).pnorm(2).build())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS)).build());
        net.init();
        perturbBiases(net);
        assertMasked("masked " + type + " pooling", net, sequences(RNNFormat.NCW), mask);
    }

    static Stream<PoolingType> poolingTypes() {
        return Stream.of(PoolingType.AVG, PoolingType.MAX, PoolingType.SUM, PoolingType.PNORM);
    }

    /** Every layer's output and the network's, under the feature mask, against DL4J's (relative error < 1e-5). */
    private static void assertMasked(String name, MultiLayerNetwork net, INDArray x, INDArray mask) {
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

    static Stream<Arguments> bidirectionalModes() {
        return Stream.of(Bidirectional.Mode.values()).flatMap(m -> Stream.of(Arguments.of(m, RNNFormat.NCW),
                Arguments.of(m, RNNFormat.NWC)));
    }

    /** Bidirectional LSTM in every mode, then a Bidirectional SimpleRnn in LastTimeStep and a classifier. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bidirectionalModes")
    void bidirectionalMatchesDl4j(Bidirectional.Mode mode, RNNFormat format) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(101).list()
                .layer(new Bidirectional(mode, new LSTM.Builder().nOut(4).activation(Activation.TANH).dataFormat(format)
                        .build()))
                .layer(new LastTimeStep(new Bidirectional(mode, new SimpleRnn.Builder().nOut(3).dataFormat(format)
                        .build())))
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        net.init();
        perturbBiases(net);
        check("Bidirectional " + mode + " " + format, net, sequences(format));
    }

    /** EmbeddingLayer on class indices [N, 1], then a dense classifier. */
    @Test
    void embeddingMatchesDl4j() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(83).list()
                .layer(new EmbeddingLayer.Builder().nIn(20).nOut(6).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder().nIn(6).nOut(3).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        perturbBiases(net);
        check("EmbeddingLayer", net, Nd4j.createFromArray(new float[][] {{0}, {19}, {7}, {7}, {3}}));
    }

    /** EmbeddingSequenceLayer on indices [N, T], both output formats, then an LSTM and a per-step classifier. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void embeddingSequenceMatchesDl4j(RNNFormat format) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(89).list()
                .layer(new EmbeddingSequenceLayer.Builder().nIn(30).nOut(5).inputLength(STEPS).outputDataFormat(format)
                        .hasBias(true).build())
                .layer(new LSTM.Builder().nIn(5).nOut(4).dataFormat(format).build())
                .layer(new RnnOutputLayer.Builder().nIn(4).nOut(3).activation(Activation.SOFTMAX).dataFormat(format)
                        .build())
                .build());
        net.init();
        perturbBiases(net);
        INDArray indices = Nd4j.createFromArray(new float[][] {{0, 1, 2, 3, 29, 28, 5}, {9, 9, 9, 0, 0, 1, 17}});
        check("EmbeddingSequenceLayer " + format, net, indices);
    }

    static Stream<RNNFormat> formats() {
        return Stream.of(RNNFormat.NCW, RNNFormat.NWC);
    }

    /** Non-zero biases, so that a permuted gate order shows. */
    private static void perturbBiases(MultiLayerNetwork net) {
        for (var layer : net.getLayers()) {
            for (String key : new String[] {"b", "fb", "bb"}) {
                INDArray b = layer.paramTable().get(key);
                if (b != null) {
                    b.assign(Nd4j.randn(DataType.FLOAT, b.shape()).muli(0.5));
                }
            }
        }
    }

    private static INDArray sequences(RNNFormat format) {
        Nd4j.getRandom().setSeed(61);
        return format == RNNFormat.NWC ? Nd4j.randn(DataType.FLOAT, BATCH, STEPS, FEATURES)
                : Nd4j.randn(DataType.FLOAT, BATCH, FEATURES, STEPS);
    }

    private static void check(String name, MultiLayerNetwork net, INDArray x) {
        double error = LayerParity.maxLayerError(net, x);
        assertTrue(error < 1e-5, name + ": relative error " + error);
    }
}
