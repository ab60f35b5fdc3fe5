package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Deconvolution2D against DL4J (fp32, every layer's output, relative error < 1e-5). */
class Deconvolution2DConverterTest {

    private static Deconvolution2D.Builder deconv(ConvolutionMode mode, int stride, boolean bias, Activation act) {
        return new Deconvolution2D.Builder(3, 3).stride(stride, stride).nOut(5).convolutionMode(mode).hasBias(bias)
                .activation(act);
    }

    static Stream<Arguments> nchw() {
        return Stream.of(
                Arguments.of("Truncate s1 bias tanh", deconv(ConvolutionMode.Truncate, 1, true, Activation.TANH).build()),
                Arguments.of("Truncate s2 pad 1 bias relu", deconv(ConvolutionMode.Truncate, 2, true, Activation.RELU)
                        .padding(1, 1).build()),
                Arguments.of("Truncate s2 no bias", deconv(ConvolutionMode.Truncate, 2, false, Activation.SIGMOID)
                        .build()),
                Arguments.of("Same s1 no bias", deconv(ConvolutionMode.Same, 1, false, Activation.ELU).build()),
                Arguments.of("Same s2 bias", deconv(ConvolutionMode.Same, 2, true, Activation.LEAKYRELU).build()),
                Arguments.of("Strict s1 bias", deconv(ConvolutionMode.Strict, 1, true, Activation.SOFTPLUS).build()),
                Arguments.of("Strict s2 bias", deconv(ConvolutionMode.Strict, 2, true, Activation.TANH).build()),
                Arguments.of("Truncate s2 dilation 2", deconv(ConvolutionMode.Truncate, 2, true, Activation.TANH)
                        .dilation(2, 2).build()),
                Arguments.of("kernel 2x4 stride 2x1", new Deconvolution2D.Builder(2, 4).stride(2, 1).nOut(3)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU6).build()),
                Arguments.of("kernel 4x4 stride 2 Same", new Deconvolution2D.Builder(4, 4).stride(2, 2).nOut(3)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nchw")
    void deconvolutionAfterConvolutionMatchesDl4j(String name, Deconvolution2D layer) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(13).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.TANH).build())
                .layer(layer)
                .setInputType(InputType.convolutional(7, 6, 3)).build());
        net.init();
        Nd4j.getRandom().setSeed(17);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 7, 6);
        double err = LayerParity.maxLayerError(net, x);
        System.out.printf("Deconvolution2D %s: max relative error %.2e%n", name, err);
        assertTrue(err < 1e-5, name + ": differs from DL4J by " + err);
    }

    static Stream<Arguments> nhwc() {
        return Stream.of(
                Arguments.of("NHWC Same s2 bias", ConvolutionMode.Same, 2, true),
                Arguments.of("NHWC Truncate s1 no bias", ConvolutionMode.Truncate, 1, false),
                Arguments.of("NHWC Strict s2 bias", ConvolutionMode.Strict, 2, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nhwc")
    void nhwcDeconvolutionsMatchDl4j(String name, ConvolutionMode mode, int stride, boolean bias) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(19).list()
                .layer(deconv(mode, stride, bias, Activation.TANH).dataFormat(CNN2DFormat.NHWC).build())
                .layer(deconv(mode, 1, true, Activation.SWISH).nOut(2).dataFormat(CNN2DFormat.NHWC).build())
                .setInputType(InputType.convolutional(5, 4, 3, CNN2DFormat.NHWC)).build());
        net.init();
        Nd4j.getRandom().setSeed(23);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 5, 4, 3);
        // the graph holds image batches channels-first: DL4J's NHWC activations compared permuted
        double err = ChannelsLastConvertersTest.nhwcError(net, x);
        System.out.printf("Deconvolution2D %s: max relative error %.2e%n", name, err);
        assertTrue(err < 1e-5, name + ": differs from DL4J by " + err);
    }
}
