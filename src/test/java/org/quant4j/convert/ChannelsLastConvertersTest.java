package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.runtime.Dnnl;

/**
 * Channels-last (NHWC) variants of every convolution, pooling, BatchNorm, upsampling, padding and cropping layer,
 * each after an NHWC convolution, against DL4J (fp32, < 1e-5): every layer's output (the graph holds image batches
 * as [N, C, H, W], so DL4J's NHWC activations are compared permuted) and the network's output, in DL4J's layout.
 */
class ChannelsLastConvertersTest {

    private static final CNN2DFormat NHWC = CNN2DFormat.NHWC;

    static Stream<Arguments> nhwcLayers() {
        return Stream.of(
                Arguments.of("conv", new ConvolutionLayer.Builder(3, 2).stride(2, 1).nOut(5).dataFormat(NHWC)
                        .activation(Activation.RELU).build()),
                Arguments.of("conv-same-dilated", new ConvolutionLayer.Builder(3, 3).dilation(2, 2).nOut(4)
                        .convolutionMode(ConvolutionMode.Same).dataFormat(NHWC).build()),
                Arguments.of("depthwise", new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(2).nOut(12)
                        .dataFormat(NHWC).activation(Activation.RELU).build()),
                Arguments.of("separable", new SeparableConvolution2D.Builder(3, 3).nOut(7).dataFormat(NHWC)
                        .convolutionMode(ConvolutionMode.Same).build()),
                Arguments.of("deconvolution", new Deconvolution2D.Builder(2, 2).stride(2, 2).nOut(4)
                        .dataFormat(NHWC).build()),
                Arguments.of("max-pool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .dataFormat(NHWC).build()),
                Arguments.of("avg-pool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG).kernelSize(3, 3).stride(1, 1)
                        .convolutionMode(ConvolutionMode.Same).dataFormat(NHWC).build()),
                Arguments.of("batchnorm", new BatchNormalization.Builder().dataFormat(NHWC).build()),
                Arguments.of("upsampling", new Upsampling2D.Builder(2).dataFormat(NHWC).build()),
                Arguments.of("zero-padding", new ZeroPaddingLayer.Builder(1, 2, 0, 3).dataFormat(NHWC).build()),
                Arguments.of("cropping", new Cropping2D.Builder(1, 0, 2, 1).dataFormat(NHWC).build()),
                Arguments.of("lrn", new LocalResponseNormalization.Builder().dataFormat(NHWC).build()),
                Arguments.of("space-to-depth", new SpaceToDepthLayer.Builder(2).dataFormat(NHWC).build()),
                Arguments.of("cnn-loss", new CnnLossLayer.Builder(LossFunctions.LossFunction.MCXENT).format(NHWC)
                        .activation(Activation.SOFTMAX).build()),
                Arguments.of("activation", new ActivationLayer.Builder().activation(Activation.ELU).build()),
                Arguments.of("dropout", new DropoutLayer.Builder(0.5).build()));
    }

    /** Every layer's output (NHWC ones permuted to NCHW) and the output (DL4J's layout) against DL4J. */
    static double nhwcError(MultiLayerNetwork net, INDArray x) {
        ModelGraph graph = Dl4jConverter.convert(net);
        List<String> variables = graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList();
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("input", x), variables);
        double worst = 0;
        for (int i = 0; i < variables.size(); i++) {
            INDArray expected = net.feedForwardToLayer(i, x.dup(), false).get(i + 1);
            if (expected.rank() == 4) {
                expected = expected.permute(0, 3, 1, 2);
            }
            double err = Dl4jConverterTest.relativeError(expected.dup('c'), ours.get(variables.get(i)));
            assertTrue(err < 1e-5, "layer " + variables.get(i) + " differs from DL4J by " + err);
            worst = Math.max(worst, err);
        }
        INDArray output = GraphExecution.output(graph.graph().dup(), Map.of("input", x), graph.outputs())
                .get(graph.outputs().get(0));
        return Math.max(worst, Dl4jConverterTest.relativeError(net.output(x.dup(), false).dup('c'), output));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nhwcLayers")
    void nhwcLayerAfterAnNhwcConvolutionMatchesDl4j(String name, Layer layer) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(61).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(6).convolutionMode(ConvolutionMode.Same)
                        .dataFormat(NHWC).activation(Activation.TANH).build())
                .layer(layer)
                .setInputType(InputType.convolutional(10, 8, 3, NHWC)).build());
        net.init();
        ModelGraph graph = Dl4jConverter.convert(net);
        assertEquals(List.of(-1L, -1L, -1L, 3L), java.util.Arrays.stream(graph.inputs().get(0).shape()).boxed().toList());
        Nd4j.getRandom().setSeed(67);
        double err = nhwcError(net, Nd4j.randn(DataType.FLOAT, 2, 10, 8, 3));
        assertTrue(err < 1e-5, name + " differs from DL4J by " + err);
    }

    /**
     * The same networks quantized: the fake-quant graph close to DL4J's fp32 output (in DL4J's NHWC layout), the int8
     * plan equal to it up to float rounding. Slow (sixteen quantizations): run in {@code mvn verify}.
     */
    @Tag("slow")
    @ParameterizedTest(name = "{0}")
    @MethodSource("nhwcLayers")
    void nhwcLayerQuantizesAndRunsInt8(String name, Layer layer) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(61).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(6).convolutionMode(ConvolutionMode.Same)
                        .dataFormat(NHWC).activation(Activation.TANH).build())
                .layer(layer)
                .setInputType(InputType.convolutional(10, 8, 3, NHWC)).build());
        net.init();
        long[] shape = {16, 10, 8, 3};
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(16, shape, 3, 4, 211),
                QuantizationOptions.builder().weightBits(Dnnl.exactInt8Products() ? 8 : 7).build());
        Nd4j.getRandom().setSeed(223);
        INDArray x = Nd4j.rand(DataType.FLOAT, shape);
        INDArray fp32 = net.output(x.dup(), false);
        INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
        INDArray int8 = model.outputs(Execution.INT8, x)[0];
        double scale = fp32.amaxNumber().doubleValue();
        double fakeError = fake.sub(fp32).amaxNumber().doubleValue() / scale;
        double int8Error = int8.sub(fake).amaxNumber().doubleValue() / scale;
        System.out.printf("NHWC %s quantized (%s): max |fake-quant - fp32| / max |fp32| %.2e, max |int8 - fake-quant|"
                + " / max |fp32| %.2e%n", name, model.int8Network().summary(shape), fakeError, int8Error);
        assertEquals(Execution.INT8, model.execution(), name + ": " + model.int8Unavailable());
        assertTrue(fakeError < 0.1, name + ": fake-quant differs from fp32 by " + fakeError);
        assertTrue(int8Error < 1e-3, name + ": int8 differs from fake-quant by " + int8Error);
    }

    @Test
    void nhwcClassifierFlattensInHwcOrderIntoItsDenseLayer() {
        MultiLayerNetwork net = nhwcClassifier();
        Nd4j.getRandom().setSeed(71);
        double err = nhwcError(net, Nd4j.rand(DataType.FLOAT, 3, 12, 12, 2));
        assertTrue(err < 1e-5, "differs from DL4J by " + err);
        // channels-first inside: no transpose but the input's
        ModelGraph graph = Dl4jConverter.convert(net);
        long permutes = graph.graph().getOps().values().stream().filter(o -> o.getOp().opName().equals("permute"))
                .count();
        assertEquals(1, permutes, "the graph holds " + permutes + " permutes");
    }

    @Test
    void nhwcGlobalPoolingAndGraphVertices() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(73)
                .activation(Activation.TANH).graphBuilder().addInputs("in")
                .addLayer("a", new ConvolutionLayer.Builder(3, 3).nIn(3).nOut(4).dataFormat(NHWC)
                        .convolutionMode(ConvolutionMode.Same).build(), "in")
                .addLayer("b", new ConvolutionLayer.Builder(1, 1).nIn(3).nOut(4).dataFormat(NHWC).build(), "in")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "a", "b")
                .addVertex("cat", new MergeVertex(), "sum", "a")
                .addLayer("gp", new GlobalPoolingLayer.Builder(PoolingType.MAX).poolingDimensions(1, 2).build(), "cat")
                .addLayer("out", new OutputLayer.Builder().nIn(8).nOut(3).activation(Activation.SOFTMAX).build(),
                        "gp")
                .setOutputs("out", "cat")
                .setInputTypes(InputType.convolutional(6, 6, 3, NHWC)).build());
        net.init();
        Nd4j.getRandom().setSeed(79);
        double err = FrozenAndVerticesTest.graphError(net, Nd4j.randn(DataType.FLOAT, 2, 6, 6, 3));
        assertTrue(err < 1e-5, "differs from DL4J by " + err);
    }

    /** conv 3x3 NHWC -> BatchNorm NHWC -> max pool NHWC -> conv -> flatten (NHWC) -> dense -> softmax. */
    static MultiLayerNetwork nhwcClassifier() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(83).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).dataFormat(NHWC).activation(Activation.IDENTITY)
                        .build())
                .layer(new BatchNormalization.Builder().dataFormat(NHWC).build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).dataFormat(NHWC).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(12).dataFormat(NHWC).activation(Activation.RELU)
                        .build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder().nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(12, 12, 2, NHWC)).build());
        net.init();
        // BatchNorm statistics that are not the identity
        Nd4j.getRandom().setSeed(89);
        net.getLayer(1).setParam("mean", Nd4j.rand(DataType.FLOAT, 1, 8).subi(0.5));
        net.getLayer(1).setParam("var", Nd4j.rand(DataType.FLOAT, 1, 8).addi(0.5));
        net.getLayer(1).setParam("gamma", Nd4j.rand(DataType.FLOAT, 1, 8).addi(0.5));
        return net;
    }
}
