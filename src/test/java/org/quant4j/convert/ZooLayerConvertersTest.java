package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;

import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationThresholdedReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;

/** The converters of the layers and vertices the DL4J zoo uses, each checked against DL4J (fp32, < 1e-5). */
class ZooLayerConvertersTest {

    /** conv (non-default activation) -> the layer under test; every layer's output compared with DL4J. */
    private static void checkAfterConv(Layer layer, int channels, int size) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(channels).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.TANH).build())
                .layer(layer)
                .setInputType(InputType.convolutional(size, size, 3)).build());
        net.init();
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, size, size);
        ModelGraph graph = Dl4jConverter.convert(net);
        List<String> variables = graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList();
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("input", x), variables);
        for (int i = 0; i < variables.size(); i++) {
            // DL4J may return arrays with unusual strides (CnnLossLayer): compare C-order copies.
            INDArray expected = net.feedForwardToLayer(i, x, false).get(i + 1).dup('c');
            double err = Dl4jConverterTest.relativeError(expected, ours.get(variables.get(i)));
            assertTrue(err < 1e-5, layer.getClass().getSimpleName() + ": layer " + variables.get(i)
                    + " differs from DL4J by " + err);
        }
        // Quantizing copies the graph (SameDiff.dup, a FlatBuffers round trip): every converted op must survive it
        // (libnd4j's pnormpool2d did not: FaceNetNN4Small2 failed so).
        INDArray copied = GraphExecution.output(graph.graph().dup(), Map.of("input", x), variables)
                .get(variables.get(variables.size() - 1));
        assertEquals(ours.get(variables.get(variables.size() - 1)), copied, "the graph's copy computes the same");
    }

    static Stream<Arguments> layers() {
        return Stream.of(
                Arguments.of("conv Same stride 2", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(5)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.LEAKYRELU).build()),
                Arguments.of("conv Truncate", new ConvolutionLayer.Builder(3, 3).stride(2, 2).padding(1, 1).nOut(5)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.ELU).build()),
                Arguments.of("conv Strict", new ConvolutionLayer.Builder(3, 3).nOut(4)
                        .convolutionMode(ConvolutionMode.Strict).activation(Activation.SOFTPLUS).build()),
                Arguments.of("depthwise x2", new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(2).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU6).build()),
                Arguments.of("separable x1", new SeparableConvolution2D.Builder(3, 3).nOut(7).hasBias(false)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.SIGMOID).build()),
                Arguments.of("separable x3 bias", new SeparableConvolution2D.Builder(3, 3).nOut(6).depthMultiplier(3)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.SWISH).build()),
                Arguments.of("max pool Same", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX, new int[] {3, 3},
                        new int[] {2, 2}).convolutionMode(ConvolutionMode.Same).build()),
                Arguments.of("avg pool Truncate", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG, new int[] {3, 3},
                        new int[] {2, 2}).convolutionMode(ConvolutionMode.Truncate).build()),
                Arguments.of("avg pool Same, padding in the divisor", new SubsamplingLayer.Builder(
                        SubsamplingLayer.PoolingType.AVG, new int[] {3, 3}, new int[] {2, 2})
                        .convolutionMode(ConvolutionMode.Same).avgPoolIncludePadInDivisor(true).build()),
                Arguments.of("avg pool Truncate padded, padding not in the divisor", new SubsamplingLayer.Builder(
                        SubsamplingLayer.PoolingType.AVG, new int[] {3, 3}, new int[] {2, 2}).padding(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).avgPoolIncludePadInDivisor(false).build()),
                Arguments.of("avg pool Truncate padded, padding in the divisor", new SubsamplingLayer.Builder(
                        SubsamplingLayer.PoolingType.AVG, new int[] {3, 3}, new int[] {2, 2}).padding(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).avgPoolIncludePadInDivisor(true).build()),
                Arguments.of("pnorm pool Truncate padded", new SubsamplingLayer.Builder(
                        SubsamplingLayer.PoolingType.PNORM, new int[] {3, 3}, new int[] {1, 1}).pnorm(3).padding(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).build()),
                Arguments.of("pnorm pool Same", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.PNORM, new int[] {3, 3},
                        new int[] {2, 2}).pnorm(2).convolutionMode(ConvolutionMode.Same).build()),
                Arguments.of("LRN", new LocalResponseNormalization.Builder().build()),
                Arguments.of("LRN n=3", new LocalResponseNormalization.Builder(1.5, 3, 1e-2, 0.5).build()),
                Arguments.of("zero padding", new ZeroPaddingLayer.Builder(1, 2, 3, 0).build()),
                Arguments.of("cropping", new Cropping2D(1, 0, 2, 1)),
                Arguments.of("upsampling", new Upsampling2D.Builder().size(new int[] {2, 3}).build()),
                Arguments.of("space to depth", new SpaceToDepthLayer.Builder(2, SpaceToDepthLayer.DataFormat.NCHW)
                        .build()),
                Arguments.of("cnn loss sigmoid", new CnnLossLayer.Builder(LossFunctions.LossFunction.XENT)
                        .activation(Activation.SIGMOID).build()),
                Arguments.of("yolo2", new Yolo2OutputLayer.Builder()
                        .boundingBoxPriors(Nd4j.createFromArray(new double[][] {{1, 2}, {3, 1.5}})).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layers")
    void layerMatchesDl4j(String name, Layer layer) {
        // Yolo2 with 2 boxes and 1 class needs 2 * (5 + 1) = 12 channels; space to depth needs an even size.
        checkAfterConv(layer, 12, 8);
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void everyActivationMatchesDl4j(Activation activation) {
        if (activation == Activation.SOFTMAX) {
            return; // needs rank 2: checked in denseSoftmaxAndCustomActivations
        }
        checkAfterConv(new ActivationLayer.Builder().activation(activation).build(), 4, 5);
    }

    @Test
    void reluVariantsEluAlphaAndThresholdedRelu() {
        checkAfterConv(new ActivationLayer.Builder().activation(new ActivationReLU(0.8, 0.1, 0.3)).build(), 4, 5);
        checkAfterConv(new ActivationLayer.Builder().activation(new ActivationReLU(null, -0.2, 0.0)).build(), 4, 5);
        checkAfterConv(new ActivationLayer.Builder().activation(new ActivationELU(0.5)).build(), 4, 5);
        checkAfterConv(new ActivationLayer.Builder().activation(new ActivationThresholdedReLU(0.25)).build(), 4, 5);
    }

    @Test
    void depthwiseAndSeparableConvolutionsAreQuantizable() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7).list()
                .layer(new DepthwiseConvolution2D.Builder(3, 3).name("dw").depthMultiplier(1).build())
                .layer(new SeparableConvolution2D.Builder(3, 3).name("sep").nOut(4).build())
                .setInputType(InputType.convolutional(9, 9, 3)).build());
        net.init();
        List<QuantizableOp> ops = QuantizableOps.find(Dl4jConverter.convert(net).graph());
        assertEquals(List.of("depthwise_conv2d", "depthwise_conv2d", "conv2d"),
                ops.stream().map(QuantizableOp::type).toList());
        assertEquals(List.of("dw/W", "sep/W", "sep/pW"), ops.stream().map(QuantizableOp::weight).toList());
        assertEquals(List.of(2, 2, 0), ops.stream().map(QuantizableOp::weightAxis).toList());
    }

    @Test
    void verticesMatchDl4j() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).graphBuilder()
                .addInputs("in")
                .addLayer("a", new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.TANH).build(), "in")
                .addLayer("b", new ConvolutionLayer.Builder(1, 1).nOut(4).activation(Activation.SIGMOID).build(), "in")
                .addVertex("scaled", new ScaleVertex(0.17), "a")
                .addVertex("shifted", new ShiftVertex(-0.3), "b")
                .addVertex("sub", new ElementWiseVertex(ElementWiseVertex.Op.Subtract), "scaled", "shifted")
                .addVertex("prod", new ElementWiseVertex(ElementWiseVertex.Op.Product), "a", "b", "sub")
                .addVertex("avg", new ElementWiseVertex(ElementWiseVertex.Op.Average), "a", "b", "prod")
                .addVertex("max", new ElementWiseVertex(ElementWiseVertex.Op.Max), "a", "b", "avg")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "a", "b", "max")
                .addVertex("merged", new MergeVertex(), "sum", "prod")
                .addVertex("l2", new L2NormalizeVertex(), "merged")
                .addLayer("out", new CnnLossLayer.Builder().activation(Activation.IDENTITY).build(), "l2")
                .setOutputs("out")
                .setInputTypes(InputType.convolutional(6, 6, 2)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, 2, 6, 6);
        Map<String, INDArray> dl4j = net.feedForward(new INDArray[] {x}, false, false);
        ModelGraph graph = Dl4jConverter.convert(net);
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("in", x),
                graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList());
        for (ModelGraph.LayerOutput v : graph.layerOutputs()) {
            double err = Dl4jConverterTest.relativeError(dl4j.get(v.layer()), ours.get(v.variable()));
            assertTrue(err < 1e-5, "vertex " + v.layer() + " (" + v.type() + ") differs from DL4J by " + err);
        }
    }

    @Test
    void cnnLossLayerSoftmaxIsOverChannels() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7).list()
                .layer(new CnnLossLayer.Builder().activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(3, 3, 4)).build());
        net.init();
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 4, 3, 3);
        ModelGraph graph = Dl4jConverter.convert(net);
        INDArray ours = GraphExecution.output(graph.graph(), Map.of("input", x), graph.outputs())
                .get(graph.outputs().get(0));
        double err = Dl4jConverterTest.relativeError(net.output(x.dup()).dup('c'), ours);
        assertTrue(err < 1e-5, "differs by " + err);
    }

    @Test
    void denseSoftmaxAndCustomActivations() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5).list()
                .layer(new DenseLayer.Builder().nIn(6).nOut(5).activation(new ActivationReLU(2.0, 0.5, 0.1)).build())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(6)).build());
        net.init();
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 6).muli(3);
        ModelGraph graph = Dl4jConverter.convert(net);
        INDArray ours = GraphExecution.output(graph.graph(), Map.of("input", x), graph.outputs())
                .get(graph.outputs().get(0));
        double err = Dl4jConverterTest.relativeError(net.output(x), ours);
        assertTrue(err < 1e-5, "differs by " + err);
    }
}
