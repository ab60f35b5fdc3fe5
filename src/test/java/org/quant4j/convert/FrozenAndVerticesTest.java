package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.L2Vertex;
import org.deeplearning4j.nn.conf.graph.PoolHelperVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.graph.ReshapeVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.runtime.Dnnl;

/**
 * Transfer-learned networks (FrozenLayer, FrozenLayerWithBackprop, FrozenVertex) and the reshaping vertices
 * (PreprocessorVertex, SubsetVertex, StackVertex, UnstackVertex, ReshapeVertex, L2Vertex), each converted and
 * compared with DL4J (fp32, < 1e-5).
 */
class FrozenAndVerticesTest {

    /** The graph's outputs against DL4J's for input {@code x}; the largest relative error. */
    static double graphError(ComputationGraph net, INDArray x) {
        ModelGraph graph = Dl4jConverter.convert(net);
        String input = graph.inputs().get(0).name();
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of(input, x), graph.outputs());
        INDArray[] dl4j = net.output(false, x.dup());
        assertEquals(dl4j.length, graph.outputs().size());
        double worst = 0;
        for (int i = 0; i < dl4j.length; i++) {
            worst = Math.max(worst, Dl4jConverterTest.relativeError(dl4j[i].dup('c'), ours.get(graph.outputs().get(i))));
        }
        // every converted op must survive SameDiff's copy (quantizing starts with one)
        Map<String, INDArray> copied = GraphExecution.output(graph.graph().dup(), Map.of(input, x), graph.outputs());
        for (String o : graph.outputs()) {
            assertEquals(ours.get(o), copied.get(o), "the copied graph differs at " + o);
        }
        return worst;
    }

    private static ComputationGraphConfiguration.GraphBuilder graph(long seed) {
        return new NeuralNetConfiguration.Builder().seed(seed).activation(Activation.TANH).graphBuilder();
    }

    private static ComputationGraph init(ComputationGraphConfiguration conf) {
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    @Test
    void transferLearnedCnnWithFrozenLayersMatchesDl4jLayerByLayer() {
        MultiLayerNetwork base = TestNetworks.cnn();
        MultiLayerNetwork tuned = new TransferLearning.Builder(base)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Sgd(0.1)).build())
                .setFeatureExtractor(4) // conv1 .. conv2 frozen
                .build();
        assertTrue(tuned.getLayerWiseConfigurations().getConf(0).getLayer() instanceof FrozenLayer);
        Nd4j.getRandom().setSeed(3);
        double err = LayerParity.maxLayerError(tuned, Nd4j.rand(DataType.FLOAT, 4, 784));
        assertTrue(err < 1e-5, "a layer differs from DL4J by " + err);
        ModelGraph graph = Dl4jConverter.convert(tuned);
        assertEquals("FrozenLayer", graph.layerOutputs().get(0).type());
        assertEquals("conv1", graph.layerOutputs().get(0).variable());
    }

    @Test
    void frozenLayerWithBackpropMatchesDl4j() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5).list()
                .layer(new FrozenLayerWithBackprop(new ConvolutionLayer.Builder(3, 3).nOut(4)
                        .activation(Activation.RELU).build()))
                .layer(new FrozenLayer(new FrozenLayerWithBackprop(new DenseLayer.Builder().nOut(6)
                        .activation(Activation.SIGMOID).build())))
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(8, 8, 2)).build());
        net.init();
        Nd4j.getRandom().setSeed(7);
        double err = LayerParity.maxLayerError(net, Nd4j.randn(DataType.FLOAT, 3, 2, 8, 8));
        assertTrue(err < 1e-5, "a layer differs from DL4J by " + err);
    }

    @Test
    void frozenComputationGraphFromTransferLearningMatchesDl4j() {
        ComputationGraph base = TestNetworks.residualGraph();
        ComputationGraph tuned = new TransferLearning.GraphBuilder(base)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Sgd(0.1)).build())
                .setFeatureExtractor("fc")
                .build();
        Nd4j.getRandom().setSeed(9);
        double err = graphError(tuned, Nd4j.rand(DataType.FLOAT, 4, 2, 12, 12));
        assertTrue(err < 1e-5, "output differs from DL4J by " + err);
    }

    @Test
    void unknownLayerInAFrozenWrapperAndUnknownVertexAreNamed() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(3).build())
                .layer(new FrozenLayer(new ElementWiseMultiplicationLayer.Builder().nIn(3).nOut(3)
                        .build()))
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> Dl4jConverter.convert(net));
        assertTrue(e.getMessage().contains("layer 1 'layer1' of type FrozenLayer(ElementWiseMultiplicationLayer) is not"
                + " supported"), e.getMessage());
        ComputationGraph graph = init(graph(3).addInputs("in")
                .addLayer("d", new DenseLayer.Builder().nIn(4).nOut(3).build(), "in")
                .addVertex("helper", new FrozenVertex(new PoolHelperVertex()), "d")
                .addLayer("out", new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build(),
                        "helper")
                .setOutputs("out").build());
        e = assertThrows(UnsupportedLayerException.class, () -> Dl4jConverter.convert(graph));
        assertTrue(e.getMessage().contains("'helper' of type FrozenVertex is not supported"), e.getMessage());
    }

    @Test
    void subsetVertexOfFeaturesAndOfChannels() {
        ComputationGraph flat = subsetOfFeatures();
        Nd4j.getRandom().setSeed(13);
        assertTrue(graphError(flat, Nd4j.randn(DataType.FLOAT, 5, 6)) < 1e-5);
        ComputationGraph image = subsetOfChannels();
        assertTrue(graphError(image, Nd4j.randn(DataType.FLOAT, 3, 2, 7, 7)) < 1e-5);
    }

    @Test
    void stackAndUnstackVerticesShareALayerAcrossBranches() {
        ComputationGraph net = stackAndUnstack();
        Nd4j.getRandom().setSeed(23);
        assertTrue(graphError(net, Nd4j.randn(DataType.FLOAT, 6, 5)) < 1e-5);
    }

    @Test
    void reshapeVerticesInCAndFOrder() {
        ComputationGraph net = reshapes();
        Nd4j.getRandom().setSeed(31);
        assertTrue(graphError(net, Nd4j.randn(DataType.FLOAT, 4, 5)) < 1e-5);
    }

    @Test
    void l2VertexIsTheDistanceOfItsInputs() {
        ComputationGraph net = l2Distance();
        Nd4j.getRandom().setSeed(41);
        assertTrue(graphError(net, Nd4j.randn(DataType.FLOAT, 3, 2, 6, 6)) < 1e-5);
    }

    @Test
    void preprocessorVerticesAndFrozenVertex() {
        ComputationGraph net = preprocessorsAndFrozenVertex();
        Nd4j.getRandom().setSeed(47);
        assertTrue(graphError(net, Nd4j.randn(DataType.FLOAT, 4, 5)) < 1e-5);
        ModelGraph graph = Dl4jConverter.convert(net);
        List<String> types = new ArrayList<>();
        graph.layerOutputs().forEach(l -> types.add(l.type()));
        assertTrue(types.containsAll(List.of("PreprocessorVertex", "SubsetVertex")), types.toString());
    }

    @Test
    void flattenOfAnNhwcBatchIsInHwcOrder() {
        // CnnToFeedForward with format NHWC on an NHWC network input: features in h, w, c order
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(53).list()
                .layer(new DenseLayer.Builder().nIn(4 * 5 * 3).nOut(6).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder().nIn(6).nOut(2).activation(Activation.SOFTMAX).build())
                .inputPreProcessor(0, new CnnToFeedForwardPreProcessor(4, 5, 3, CNN2DFormat.NHWC))
                .build());
        net.init();
        ModelGraph graph = Dl4jConverter.convert(net);
        assertEquals(List.of(-1L, 4L, 5L, 3L), java.util.Arrays.stream(graph.inputs().get(0).shape()).boxed().toList());
        Nd4j.getRandom().setSeed(59);
        double err = LayerParity.maxLayerError(net, Nd4j.randn(DataType.FLOAT, 3, 4, 5, 3));
        assertTrue(err < 1e-5, "a layer differs from DL4J by " + err);
    }

    static ComputationGraph subsetOfFeatures() {
        return init(graph(11).addInputs("in")
                .addLayer("d", new DenseLayer.Builder().nIn(6).nOut(8).build(), "in")
                .addVertex("sub", new SubsetVertex(2, 5), "d")
                .addLayer("out", new OutputLayer.Builder().nIn(4).nOut(3).activation(Activation.SOFTMAX).build(),
                        "sub")
                .setOutputs("out").build());
    }

    static ComputationGraph subsetOfChannels() {
        return init(graph(17).addInputs("in")
                .addLayer("c", new ConvolutionLayer.Builder(3, 3).nIn(2).nOut(6).build(), "in")
                .addVertex("sub", new SubsetVertex(1, 3), "c")
                .addLayer("gp", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "sub")
                .addLayer("out", new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build(),
                        "gp")
                .setOutputs("out").build());
    }

    static ComputationGraph stackAndUnstack() {
        return init(graph(19).addInputs("in")
                .addLayer("a", new DenseLayer.Builder().nIn(5).nOut(4).build(), "in")
                .addLayer("b", new DenseLayer.Builder().nIn(5).nOut(4).activation(Activation.RELU).build(), "in")
                .addVertex("stack", new StackVertex(), "a", "b")
                .addLayer("shared", new DenseLayer.Builder().nIn(4).nOut(6).build(), "stack")
                .addVertex("u0", new UnstackVertex(0, 2), "shared")
                .addVertex("u1", new UnstackVertex(1, 2), "shared")
                .addVertex("diff", new ElementWiseVertex(ElementWiseVertex.Op.Subtract), "u0", "u1")
                .addLayer("out", new OutputLayer.Builder().nIn(6).nOut(3).activation(Activation.SOFTMAX).build(),
                        "diff")
                .setOutputs("out").build());
    }

    static ComputationGraph reshapes() {
        return init(graph(29).addInputs("in")
                .addLayer("d", new DenseLayer.Builder().nIn(5).nOut(12).build(), "in")
                .addVertex("f", new ReshapeVertex('f', new int[] {-1, 3, 4}, null), "d")
                .addVertex("c", new ReshapeVertex(-1, 12), "f")
                .addLayer("out", new OutputLayer.Builder().nIn(12).nOut(3).activation(Activation.SOFTMAX).build(),
                        "c")
                .setOutputs("out", "f").build());
    }

    static ComputationGraph l2Distance() {
        return init(graph(37).addInputs("in")
                .addLayer("a", new ConvolutionLayer.Builder(3, 3).nIn(2).nOut(3).build(), "in")
                .addLayer("b", new ConvolutionLayer.Builder(3, 3).nIn(2).nOut(3).activation(Activation.RELU).build(),
                        "in")
                .addVertex("l2", new L2Vertex(), "a", "b")
                .addLayer("out", new OutputLayer.Builder(org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.XENT)
                        .nIn(1).nOut(2).activation(Activation.SIGMOID).build(),
                        "l2")
                .setOutputs("out", "l2").build());
    }

    static ComputationGraph preprocessorsAndFrozenVertex() {
        return init(graph(43).addInputs("in")
                .addLayer("d", new DenseLayer.Builder().nIn(5).nOut(48).build(), "in")
                .addVertex("image", new PreprocessorVertex(new FeedForwardToCnnPreProcessor(4, 4, 3)), "d")
                .addLayer("c", new ConvolutionLayer.Builder(3, 3).nIn(3).nOut(4)
                        .convolutionMode(ConvolutionMode.Same).build(), "image")
                .addVertex("flat", new PreprocessorVertex(new CnnToFeedForwardPreProcessor(4, 4, 4)), "c")
                .addVertex("frozen", new FrozenVertex(new SubsetVertex(0, 40)), "flat")
                .addLayer("out", new OutputLayer.Builder().nIn(41).nOut(3).activation(Activation.SOFTMAX).build(),
                        "frozen")
                .setOutputs("out").build());
    }

    static Stream<Arguments> vertexNetworks() {
        return Stream.of(
                Arguments.of("SubsetVertex (features)", subsetOfFeatures(), new long[] {16, 6}),
                Arguments.of("SubsetVertex (channels)", subsetOfChannels(), new long[] {16, 2, 7, 7}),
                Arguments.of("StackVertex, UnstackVertex", stackAndUnstack(), new long[] {16, 5}),
                Arguments.of("ReshapeVertex", reshapes(), new long[] {16, 5}),
                Arguments.of("L2Vertex", l2Distance(), new long[] {16, 2, 6, 6}),
                Arguments.of("PreprocessorVertex, FrozenVertex", preprocessorsAndFrozenVertex(), new long[] {16, 5}));
    }

    /**
     * Each vertex's network quantized (8-bit activations, 7 or 8-bit weights): the fake-quant graph close to DL4J's
     * fp32 output, and the int8 plan (its dense and convolution layers int8 kernels) equal to the fake-quant graph
     * up to float rounding. Slow (six quantizations): run in {@code mvn verify}.
     */
    @Tag("slow")
    @ParameterizedTest(name = "{0}")
    @MethodSource("vertexNetworks")
    void vertexNetworkQuantizesAndRunsInt8(String name, ComputationGraph net, long[] shape) {
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator((int) shape[0], shape, 3, 4, 191),
                QuantizationOptions.builder().weightBits(Dnnl.exactInt8Products() ? 8 : 7).build());
        Nd4j.getRandom().setSeed(193);
        INDArray x = Nd4j.rand(DataType.FLOAT, shape);
        INDArray fp32 = net.output(false, x.dup())[0];
        INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
        INDArray int8 = model.outputs(Execution.INT8, x)[0];
        double fakeError = fake.sub(fp32).amaxNumber().doubleValue();
        double int8Error = int8.sub(fake).amaxNumber().doubleValue();
        String summary = model.int8Network() == null ? "no int8 plan" : model.int8Network().summary(shape);
        System.out.printf("%s quantized (%s): max |fake-quant - fp32| %.2e, max |int8 - fake-quant| %.2e%n", name,
                summary, fakeError, int8Error);
        assertEquals(Execution.INT8, model.execution(), name + ": " + model.int8Unavailable());
        assertTrue(fakeError < 0.05, name + ": fake-quant differs from fp32 by " + fakeError);
        assertTrue(int8Error < 1e-3, name + ": int8 differs from fake-quant by " + int8Error);
    }

    @Test
    void transferLearnedCnnQuantizesAndRunsInt8() {
        MultiLayerNetwork tuned = new TransferLearning.Builder(TestNetworks.cnn())
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Sgd(0.1)).build())
                .setFeatureExtractor(4)
                .build();
        long[] shape = {32, 784};
        QuantizedModel model = Quantizer.quantize(tuned, TestNetworks.randomIterator(32, shape, 10, 4, 197),
                QuantizationOptions.builder().weightBits(Dnnl.exactInt8Products() ? 8 : 7).build());
        Nd4j.getRandom().setSeed(199);
        INDArray x = Nd4j.rand(DataType.FLOAT, shape);
        INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
        INDArray int8 = model.outputs(Execution.INT8, x)[0];
        String summary = model.int8Network().summary(shape);
        double int8Error = int8.sub(fake).amaxNumber().doubleValue();
        System.out.printf("transfer-learned CNN quantized (%s): max |int8 - fake-quant| %.2e, quantized ops %s%n",
                summary, int8Error, model.report().quantizedOps());
        assertEquals(Execution.INT8, model.execution(), model.int8Unavailable());
        assertTrue(summary.startsWith("4 int8 kernels"), summary); // conv1, conv2 (frozen), fc1, out
        assertTrue(int8Error < 1e-3, "int8 differs from fake-quant by " + int8Error);
    }
}
