package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.TestNetworks;
import org.quant4j.convert.Dl4jConverter;

class BatchNormFoldingTest {

    private static long batchNorms(ModelGraph g) {
        return g.graph().getOps().values().stream().filter(op -> op.getOp() instanceof BatchNorm).count();
    }

    private static double relativeError(INDArray expected, INDArray actual) {
        return expected.sub(actual).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
    }

    @Test
    void foldedNetworkComputesWhatDl4jComputes() {
        MultiLayerNetwork net = TestNetworks.cnn(); // conv1 (identity) -> bn1: foldable
        ModelGraph g = BatchNormFolding.fold(Dl4jConverter.convert(net));
        assertEquals(0, batchNorms(g));
        assertTrue(g.layerOutputs().stream().noneMatch(l -> l.layer().equals("bn1")));
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 784);
        INDArray expected = net.output(x, false);
        INDArray actual = GraphExecution.output(g.graph(), Map.of("input", x), g.outputs()).get(g.outputs().get(0));
        assertTrue(relativeError(expected, actual) < 1e-5, "folded output differs by " + relativeError(expected, actual));
        // The folded convolution alone equals DL4J's BatchNorm output.
        INDArray bn = net.feedForwardToLayer(1, x, false).get(2);
        INDArray conv = GraphExecution.output(g.graph(), Map.of("input", x), java.util.List.of("conv1")).get("conv1");
        assertTrue(relativeError(bn, conv) < 1e-5, "folded conv1 differs from bn1 by " + relativeError(bn, conv));
    }

    @Test
    void batchNormAfterAnActivationIsLeftAlone() {
        MultiLayerNetwork net = TestNetworks.globalPoolingCnn(); // conv (ReLU) -> BN: not foldable
        ModelGraph g = BatchNormFolding.fold(Dl4jConverter.convert(net));
        assertEquals(1, batchNorms(g));
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 16, 16);
        INDArray actual = GraphExecution.output(g.graph(), Map.of("input", x), g.outputs()).get(g.outputs().get(0));
        assertTrue(relativeError(net.output(x, false), actual) < 1e-5);
    }

    /** Every BatchNorm's statistics and affine parameters set to random values (var positive), so folding matters. */
    static void randomizeBatchNorms(org.deeplearning4j.nn.api.Layer[] layers) {
        java.util.Random r = new java.util.Random(7);
        for (org.deeplearning4j.nn.api.Layer l : layers) {
            if (l instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization) {
                for (Map.Entry<String, INDArray> p : l.paramTable().entrySet()) {
                    INDArray v = p.getValue();
                    for (long i = 0; i < v.length(); i++) {
                        double x = p.getKey().equals("var") ? 0.2 + r.nextDouble() * 2 : r.nextGaussian() * 0.5;
                        v.putScalar(i, p.getKey().equals("gamma") ? 1 + x : x);
                    }
                }
            }
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = org.quant4j.reference.ReferenceNetwork.class,
            names = {"RESNET_FASHION", "MOBILENET_FASHION"})
    void foldsIntoConvolutionsWithoutBiasAndDepthwiseConvolutions(org.quant4j.reference.ReferenceNetwork ref) {
        Object conf = ref.configuration();
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 1, 28, 28);
        INDArray expected;
        ModelGraph g;
        if (conf instanceof org.deeplearning4j.nn.conf.MultiLayerConfiguration c) {
            MultiLayerNetwork net = new MultiLayerNetwork(c);
            net.init();
            randomizeBatchNorms(net.getLayers());
            expected = net.output(x, false);
            g = BatchNormFolding.fold(Dl4jConverter.convert(net));
        } else {
            var net = new org.deeplearning4j.nn.graph.ComputationGraph(
                    (org.deeplearning4j.nn.conf.ComputationGraphConfiguration) conf);
            net.init();
            randomizeBatchNorms(net.getLayers());
            expected = net.outputSingle(false, x);
            g = BatchNormFolding.fold(Dl4jConverter.convert(net));
        }
        assertEquals(0, batchNorms(g), "every BatchNorm of " + ref.id() + " follows a convolution");
        for (ModelGraph copy : java.util.List.of(g, g.copy())) {
            INDArray actual = GraphExecution.output(copy.graph(), Map.of(copy.inputs().get(0).name(), x),
                    copy.outputs()).get(copy.outputs().get(0));
            assertTrue(relativeError(expected, actual) < 1e-4, ref.id() + ": folded output differs by "
                    + relativeError(expected, actual));
        }
    }

    @Test
    void batchNormAfterADepthwiseConvolutionFolds() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle(); // depthwise (identity) -> BN twice, conv -> BN thrice
        Nd4j.getRandom().setSeed(3);
        for (org.deeplearning4j.nn.api.Layer layer : net.getLayers()) {
            if (layer.paramTable().containsKey("var")) {
                // statistics and affine parameters far from the identity, so that a wrong fold shows
                layer.paramTable().get("mean").assign(Nd4j.rand(DataType.FLOAT, layer.paramTable().get("mean").shape())
                        .subi(0.5));
                layer.paramTable().get("var").assign(Nd4j.rand(DataType.FLOAT, layer.paramTable().get("var").shape())
                        .addi(0.5));
                layer.paramTable().get("gamma").assign(Nd4j.rand(DataType.FLOAT,
                        layer.paramTable().get("gamma").shape()).addi(0.5));
                layer.paramTable().get("beta").assign(Nd4j.rand(DataType.FLOAT, layer.paramTable().get("beta").shape())
                        .subi(0.5));
            }
        }
        ModelGraph g = BatchNormFolding.fold(Dl4jConverter.convert(net));
        assertEquals(0, batchNorms(g));
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
        INDArray expected = net.output(x, false);
        INDArray actual = GraphExecution.output(g.graph(), Map.of(g.inputs().get(0).name(), x), g.outputs())
                .get(g.outputs().get(0));
        assertTrue(relativeError(expected, actual) < 1e-5, "folded output differs by " + relativeError(expected, actual));
    }
}
