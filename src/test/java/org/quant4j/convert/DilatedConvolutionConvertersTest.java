package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
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
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.KernelTaps;
import org.quant4j.graph.ModelGraph;

/**
 * Dilated ConvolutionLayer, DepthwiseConvolution2D and SeparableConvolution2D against DL4J (fp32, every layer's
 * output, relative error < 1e-5). SameDiff M2.1's conv2d and (depth multiplier 1) depthwise_conv2d refuse
 * dilations, so the converters spell the kernels out undilated ({@link Cnn#undilatedKernel}).
 */
class DilatedConvolutionConvertersTest {

    private static final int CHANNELS = 3;
    private static final int HEIGHT = 13;
    private static final int WIDTH = 12;

    private static ConvolutionLayer.Builder conv(int kH, int kW, int dH, int dW, int stride, ConvolutionMode mode,
            boolean bias) {
        return new ConvolutionLayer.Builder(kH, kW).dilation(dH, dW).stride(stride, stride).nOut(5)
                .convolutionMode(mode).hasBias(bias).activation(Activation.TANH);
    }

    static Stream<Arguments> convolutions() {
        return Stream.of(
                Arguments.of("Truncate 3x3 d2 s1 bias", conv(3, 3, 2, 2, 1, ConvolutionMode.Truncate, true).build()),
                Arguments.of("Truncate 3x3 d2 s2 pad 1 no bias", conv(3, 3, 2, 2, 2, ConvolutionMode.Truncate, false)
                        .padding(1, 1).build()),
                Arguments.of("Truncate 3x3 d2 s2 bias", conv(3, 3, 2, 2, 2, ConvolutionMode.Truncate, true).build()),
                Arguments.of("Same 3x3 d2 s1 bias", conv(3, 3, 2, 2, 1, ConvolutionMode.Same, true).build()),
                Arguments.of("Same 3x3 d2 s2 no bias", conv(3, 3, 2, 2, 2, ConvolutionMode.Same, false).build()),
                Arguments.of("Strict 3x3 d2 s1 bias", conv(3, 3, 2, 2, 1, ConvolutionMode.Strict, true).build()),
                Arguments.of("Truncate 3x2 d(2,3) s1 bias", conv(3, 2, 2, 3, 1, ConvolutionMode.Truncate, true)
                        .build()),
                Arguments.of("Truncate 3x2 d(2,3) s2 no bias", conv(3, 2, 2, 3, 2, ConvolutionMode.Truncate, false)
                        .build()),
                Arguments.of("Same 3x2 d(2,3) s1 no bias", conv(3, 2, 2, 3, 1, ConvolutionMode.Same, false).build()),
                Arguments.of("Same 3x2 d(2,3) s2 bias", conv(3, 2, 2, 3, 2, ConvolutionMode.Same, true).build()),
                Arguments.of("Same 2x3 d(1,2) s1 bias", conv(2, 3, 1, 2, 1, ConvolutionMode.Same, true).build()),
                Arguments.of("Truncate 1x1 d3 s1 bias", conv(1, 1, 3, 3, 1, ConvolutionMode.Truncate, true).build()));
    }

    static Stream<Arguments> depthwise() {
        return Stream.of(
                // A depth multiplier of 1 with a dilation fails in DL4J M2.1 itself (libnd4j runs it with oneDNN and
                // refuses the descriptor): see depthwiseMultiplierOneMatchesAnEquivalentConvolution.
                Arguments.of("depthwise Truncate 3x3 d2 s1 bias", new DepthwiseConvolution2D.Builder(3, 3)
                        .dilation(2, 2).depthMultiplier(2).nOut(2 * CHANNELS).convolutionMode(ConvolutionMode.Truncate)
                        .activation(Activation.RELU).build()),
                Arguments.of("depthwise Same 3x3 d2 s1 multiplier 2 no bias", new DepthwiseConvolution2D.Builder(3, 3)
                        .dilation(2, 2).depthMultiplier(2).nOut(2 * CHANNELS).hasBias(false)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.TANH).build()),
                Arguments.of("separable Truncate 3x3 d2 s2 bias", new SeparableConvolution2D.Builder(3, 3)
                        .dilation(2, 2).stride(2, 2).depthMultiplier(2).nOut(4)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.TANH).build()),
                Arguments.of("separable Same 3x2 d(2,3) s1 no bias", new SeparableConvolution2D.Builder(3, 2)
                        .dilation(2, 3).depthMultiplier(1).nOut(4).hasBias(false)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.SIGMOID).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convolutions")
    void dilatedConvolutionMatchesDl4j(String name, ConvolutionLayer layer) {
        check("ConvolutionLayer " + name, layer);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("depthwise")
    void dilatedDepthwiseAndSeparableConvolutionsMatchDl4j(String name, Layer layer) {
        check(name, layer);
    }

    /** The layer under test on the image, then an undilated Same convolution reading its output. */
    private static void check(String name, Layer layer) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(59).list()
                .layer(layer)
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(3).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build())
                .setInputType(InputType.convolutional(HEIGHT, WIDTH, CHANNELS)).build());
        net.init();
        Nd4j.getRandom().setSeed(61);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, CHANNELS, HEIGHT, WIDTH);
        double err = LayerParity.maxLayerError(net, x);
        System.out.printf("%s: max relative error %.2e%n", name, err);
        assertTrue(err < 1e-5, name + ": differs from DL4J by " + err);
    }

    static Stream<Arguments> depthwiseMultiplierOne() {
        return Stream.of(
                Arguments.of("Truncate 3x3 d2 s2 bias", ConvolutionMode.Truncate, 3, 3, 2, 2, 2, true),
                Arguments.of("Same 3x2 d(2,3) s1 no bias", ConvolutionMode.Same, 3, 2, 2, 3, 1, false),
                Arguments.of("Same 3x3 d2 s2 bias", ConvolutionMode.Same, 3, 3, 2, 2, 2, true));
    }

    /**
     * A dilated DepthwiseConvolution2D with a depth multiplier of 1, which DL4J M2.1 cannot run itself, against a
     * DL4J ConvolutionLayer with the same dilation and the depthwise kernel on the diagonal of its weights (zero
     * elsewhere), the same bias and activation: the same function.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("depthwiseMultiplierOne")
    void depthwiseMultiplierOneMatchesAnEquivalentConvolution(String name, ConvolutionMode mode, int kH, int kW,
            int dH, int dW, int stride, boolean bias) {
        MultiLayerNetwork depthwise = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(67).list()
                .layer(new DepthwiseConvolution2D.Builder(kH, kW).dilation(dH, dW).stride(stride, stride)
                        .depthMultiplier(1).nOut(CHANNELS).hasBias(bias).convolutionMode(mode)
                        .activation(Activation.TANH).build())
                .setInputType(InputType.convolutional(HEIGHT, WIDTH, CHANNELS)).build());
        depthwise.init();
        MultiLayerNetwork dense = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(67).list()
                .layer(new ConvolutionLayer.Builder(kH, kW).dilation(dH, dW).stride(stride, stride).nOut(CHANNELS)
                        .hasBias(bias).convolutionMode(mode).activation(Activation.TANH).build())
                .setInputType(InputType.convolutional(HEIGHT, WIDTH, CHANNELS)).build());
        dense.init();
        INDArray kernel = depthwise.getLayer(0).getParam("W"); // [kH, kW, C, 1]
        INDArray weights = dense.getLayer(0).getParam("W"); // [C, C, kH, kW]
        weights.assign(0);
        for (int ch = 0; ch < CHANNELS; ch++) {
            weights.get(NDArrayIndex.point(ch), NDArrayIndex.point(ch), NDArrayIndex.all(), NDArrayIndex.all())
                    .assign(kernel.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(ch),
                            NDArrayIndex.point(0)));
        }
        if (bias) {
            depthwise.getLayer(0).getParam("b").assign(Nd4j.randn(DataType.FLOAT, 1, CHANNELS));
            dense.getLayer(0).getParam("b").assign(depthwise.getLayer(0).getParam("b"));
        }
        Nd4j.getRandom().setSeed(71);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, CHANNELS, HEIGHT, WIDTH);
        ModelGraph graph = Dl4jConverter.convert(depthwise);
        INDArray ours = GraphExecution.output(graph.graph(), Map.of("input", x), graph.outputs())
                .get(graph.outputs().get(0));
        INDArray expected = dense.output(x.dup(), false).dup('c');
        assertTrue(expected.stdNumber().doubleValue() > 0.1, "a trivial output");
        double err = Dl4jConverterTest.relativeError(expected, ours);
        System.out.printf("DepthwiseConvolution2D multiplier 1 %s: max relative error %.2e (output std %.3f)%n", name,
                err, expected.stdNumber().doubleValue());
        assertTrue(err < 1e-5, name + ": differs from the equivalent convolution by " + err);
    }

    /**
     * Every spread kernel is recorded with where its taps are (for the weight statistics): the taps are the layer's
     * weights, every other element is zero; undilated kernels are not recorded.
     */
    @Test
    void spreadKernelsRecordTheirTaps() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(73).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).name("plain").convolutionMode(ConvolutionMode.Same)
                        .build())
                .layer(conv(3, 2, 2, 3, 1, ConvolutionMode.Same, true).name("conv").build())
                .layer(new DepthwiseConvolution2D.Builder(3, 3).dilation(2, 1).depthMultiplier(2).nOut(10)
                        .name("depthwise").convolutionMode(ConvolutionMode.Same).build())
                .layer(new SeparableConvolution2D.Builder(2, 3).dilation(3, 2).nOut(4).name("separable")
                        .convolutionMode(ConvolutionMode.Same).build())
                .layer(new ConvolutionLayer.Builder(1, 3).dilation(2, 2).nOut(3).name("row")
                        .convolutionMode(ConvolutionMode.Same).build())
                .setInputType(InputType.convolutional(HEIGHT, WIDTH, CHANNELS)).build());
        net.init();
        ModelGraph graph = Dl4jConverter.convert(net);
        assertEquals(Map.of("conv/W", new KernelTaps(new long[] {1, 1, 2, 3}),
                "depthwise/W", new KernelTaps(new long[] {2, 1, 1, 1}),
                "separable/W", new KernelTaps(new long[] {3, 2, 1, 1}),
                "row/W", new KernelTaps(new long[] {1, 1, 1, 2})), graph.kernelTaps());
        Map<String, INDArray> layouts = Map.of(
                "conv/W", net.getLayer(1).getParam("W"),
                "depthwise/W", net.getLayer(2).getParam("W"),
                "separable/W", net.getLayer(3).getParam("W").permute(2, 3, 1, 0),
                "row/W", net.getLayer(4).getParam("W"));
        graph.kernelTaps().forEach((weight, taps) -> {
            INDArray spread = graph.graph().getVariable(weight).getArr();
            assertEquals(layouts.get(weight), taps.of(spread), weight);
            assertEquals(layouts.get(weight).length(), spread.neq(0).castTo(DataType.INT32).sumNumber().longValue(),
                    weight + ": only the taps are non-zero");
        });
        assertEquals(net.getLayer(0).getParam("W"), graph.graph().getVariable("plain/W").getArr());
        // Kept by the copies the quantizer makes.
        assertEquals(graph.kernelTaps(), graph.copy().kernelTaps());
    }

    @Test
    void spreadConvolution1dKernelRecordsItsTaps() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(79).list()
                .layer(new Convolution1DLayer.Builder(3, 1).dilation(2).nOut(4).name("causal")
                        .convolutionMode(ConvolutionMode.Causal).build())
                .setInputType(InputType.recurrent(CHANNELS, 17)).build());
        net.init();
        ModelGraph graph = Dl4jConverter.convert(net);
        // [1, k, nIn, nOut] (YXIO), spread along axis 1
        assertEquals(Map.of("causal/W", new KernelTaps(new long[] {1, 2, 1, 1})), graph.kernelTaps());
        assertArrayEquals(new long[] {1, 5, CHANNELS, 4}, graph.graph().getVariable("causal/W").getArr().shape());
    }

    @Test
    void undilatedKernelPutsTheTapsDApartWithZerosBetween() {
        INDArray kernel = Nd4j.arange(1, 1 + 2 * 3 * 2).castTo(DataType.FLOAT).reshape('c', 1, 2, 3, 2);
        INDArray stuffed = Cnn.undilatedKernel(kernel, new int[] {2, 3}, new long[] {2, 3});
        assertArrayEquals(new long[] {1, 2, 5, 4}, stuffed.shape());
        for (int i = 0; i < 2; i++) {
            for (int y = 0; y < 5; y++) {
                for (int x = 0; x < 4; x++) {
                    float expected = y % 2 == 0 && x % 3 == 0 ? kernel.getFloat(0, i, y / 2, x / 3) : 0f;
                    assertEquals(expected, stuffed.getFloat(0, i, y, x), "at " + i + ", " + y + ", " + x);
                }
            }
        }
        assertEquals(kernel.sumNumber().doubleValue(), stuffed.sumNumber().doubleValue(), 0);
        assertSame(kernel, Cnn.undilatedKernel(kernel, new int[] {2, 3}, new long[] {1, 1}));
    }
}
