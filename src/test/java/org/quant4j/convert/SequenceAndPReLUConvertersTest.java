package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.ModelGraph;

/**
 * Convolution1DLayer, Subsampling1DLayer and PReLULayer against DL4J (fp32, every layer's output, relative error
 * < 1e-5), on sequences [N, C, W] (NCW) and [N, W, C] (NWC), images and feature vectors.
 */
class SequenceAndPReLUConvertersTest {

    private static final int CHANNELS = 3;
    private static final int LENGTH = 17;

    private static Convolution1DLayer.Builder conv1d(int k, int stride, ConvolutionMode mode, Activation act) {
        return new Convolution1DLayer.Builder(k, stride).nOut(4).convolutionMode(mode).activation(act);
    }

    static Stream<Arguments> convolutions() {
        return Stream.of(
                Arguments.of("Truncate k3 s1 bias relu", conv1d(3, 1, ConvolutionMode.Truncate, Activation.RELU).build()),
                Arguments.of("Truncate k5 s2 pad 2 no bias tanh", conv1d(5, 2, ConvolutionMode.Truncate, Activation.TANH)
                        .padding(2).hasBias(false).build()),
                Arguments.of("Strict k3 s2", conv1d(3, 2, ConvolutionMode.Strict, Activation.ELU).build()),
                Arguments.of("Same k3 s2 bias", conv1d(3, 2, ConvolutionMode.Same, Activation.SIGMOID).build()),
                // Dilations in Same or Truncate mode fail in DL4J M2.1 itself (oneDNN refuses the descriptor): the
                // Causal cases check dilated kernels.
                Arguments.of("Causal k3", conv1d(3, 1, ConvolutionMode.Causal, Activation.TANH).build()),
                Arguments.of("Causal k3 dilation 2 no bias", conv1d(3, 1, ConvolutionMode.Causal, Activation.SWISH)
                        .dilation(2).hasBias(false).build()),
                Arguments.of("Causal k2 s2", conv1d(2, 2, ConvolutionMode.Causal, Activation.RELU).build()));
    }

    /** The layer under test on NCW input, then a Same max pooling, a global average and a softmax classifier. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("convolutions")
    void convolution1dMatchesDl4j(String name, Convolution1DLayer layer) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(29).list()
                .layer(layer)
                .layer(new Subsampling1DLayer.Builder(SubsamplingLayer.PoolingType.MAX, 2, 2).convolutionMode(ConvolutionMode.Same).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(CHANNELS, LENGTH)).build());
        net.init();
        check("Convolution1D " + name, net, sequences(RNNFormat.NCW));
    }

    /** NWC: two convolutions reading and writing [N, W, C], as DL4J transposes around its NCW op. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("convolutions")
    void nwcConvolution1dMatchesDl4j(String name, Convolution1DLayer layer) {
        layer.setRnnDataFormat(RNNFormat.NWC);
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(31).list()
                .layer(layer)
                .layer(conv1d(2, 1, ConvolutionMode.Same, Activation.TANH).rnnDataFormat(RNNFormat.NWC).build())
                .setInputType(InputType.recurrent(CHANNELS, LENGTH, RNNFormat.NWC)).build());
        net.init();
        assertEquals(-1, Dl4jConverter.convert(net).inputs().get(0).shape()[1]);
        check("Convolution1D NWC " + name, net, sequences(RNNFormat.NWC));
    }

    static Stream<Arguments> poolings() {
        return Stream.of(
                Arguments.of("MAX k2 s2 Truncate", new Subsampling1DLayer.Builder(SubsamplingLayer.PoolingType.MAX, 2, 2)
                        .convolutionMode(ConvolutionMode.Truncate).build()),
                Arguments.of("MAX k3 s2 Same", new Subsampling1DLayer.Builder(SubsamplingLayer.PoolingType.MAX, 3, 2)
                        .convolutionMode(ConvolutionMode.Same).build()),
                Arguments.of("AVG k3 s2 Same", new Subsampling1DLayer.Builder(SubsamplingLayer.PoolingType.AVG, 3, 2)
                        .convolutionMode(ConvolutionMode.Same).build()),
                // No explicit padding: DL4J M2.1 itself fails on it (its [p, p] padding of a one-pixel-wide image).
                Arguments.of("PNORM 2 k3 s2 Same", new Subsampling1DLayer.Builder(SubsamplingLayer.PoolingType.PNORM, 3, 2).pnorm(2)
                        .convolutionMode(ConvolutionMode.Same).build()),
                Arguments.of("PNORM 3 k2 s1 Truncate", new Subsampling1DLayer.Builder(SubsamplingLayer.PoolingType.PNORM, 2, 1).pnorm(3)
                        .convolutionMode(ConvolutionMode.Truncate).build()));
    }

    /** A Same convolution, then the pooling under test. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("poolings")
    void subsampling1dMatchesDl4j(String name, Subsampling1DLayer layer) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(37).list()
                .layer(conv1d(3, 1, ConvolutionMode.Same, Activation.TANH).build())
                .layer(layer)
                .setInputType(InputType.recurrent(CHANNELS, LENGTH)).build());
        net.init();
        check("Subsampling1D " + name, net, sequences(RNNFormat.NCW));
    }

    static Stream<Arguments> prelus() {
        return Stream.of(
                Arguments.of("image, alpha per channel", 4, new PReLULayer.Builder().inputShape(4, 6, 6)
                        .sharedAxes(2, 3).build()),
                Arguments.of("image, alpha per value", 4, new PReLULayer.Builder().inputShape(4, 6, 6).build()),
                Arguments.of("image, alpha per row", 4, new PReLULayer.Builder().inputShape(4, 6, 6)
                        .sharedAxes(1, 3).build()),
                Arguments.of("features", 2, new PReLULayer.Builder().inputShape(5).build()),
                Arguments.of("sequence, alpha per channel", 3, new PReLULayer.Builder().inputShape(4, LENGTH)
                        .sharedAxes(2).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("prelus")
    void preluMatchesDl4j(String name, int rank, PReLULayer prelu) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().seed(41).list();
        INDArray x;
        Nd4j.getRandom().setSeed(43);
        switch (rank) {
            case 4 -> {
                b.layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build()).layer(prelu)
                        .setInputType(InputType.convolutional(6, 6, 2));
                x = Nd4j.randn(DataType.FLOAT, 3, 2, 6, 6);
            }
            case 3 -> {
                b.layer(conv1d(3, 1, ConvolutionMode.Same, Activation.IDENTITY).build()).layer(prelu)
                        .setInputType(InputType.recurrent(CHANNELS, LENGTH));
                x = sequences(RNNFormat.NCW);
            }
            default -> {
                b.layer(new DenseLayer.Builder().nOut(5).activation(Activation.IDENTITY).build()).layer(prelu)
                        .layer(new OutputLayer.Builder().nOut(2).activation(Activation.SOFTMAX).build())
                        .setInputType(InputType.feedForward(6));
                x = Nd4j.randn(DataType.FLOAT, 4, 6);
            }
        }
        MultiLayerNetwork net = new MultiLayerNetwork(b.build());
        net.init();
        // DL4J initializes alpha to 0 (a plain ReLU): give every value its own slope, of both signs.
        INDArray alpha = net.getLayer(1).getParam("W");
        alpha.assign(Nd4j.rand(DataType.FLOAT, alpha.shape()).subi(0.3).muli(2));
        check("PReLU " + name, net, x);
    }

    @Test
    void preluFirstTakesItsInputRankFromTheConfiguredShape() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(47).list()
                .layer(new PReLULayer.Builder().inputShape(3, 4, 4).sharedAxes(2, 3).build())
                .layer(new SubsamplingLayer.Builder(2, 2).build())
                .build());
        net.init();
        net.getLayer(0).getParam("W").assign(Nd4j.createFromArray(0.25f, -0.5f, 2f).reshape(3, 1, 1));
        ModelGraph graph = Dl4jConverter.convert(net);
        assertEquals(4, graph.inputs().get(0).shape().length);
        check("PReLU first", net, Nd4j.randn(DataType.FLOAT, 2, 3, 4, 4));
    }

    private static INDArray sequences(RNNFormat format) {
        Nd4j.getRandom().setSeed(53);
        return format == RNNFormat.NWC ? Nd4j.randn(DataType.FLOAT, 3, LENGTH, CHANNELS)
                : Nd4j.randn(DataType.FLOAT, 3, CHANNELS, LENGTH);
    }

    private static void check(String name, MultiLayerNetwork net, INDArray x) {
        double err = LayerParity.maxLayerError(net, x);
        System.out.printf("%s: max relative error %.2e%n", name, err);
        assertTrue(err < 1e-5, name + ": differs from DL4J by " + err);
    }

}
