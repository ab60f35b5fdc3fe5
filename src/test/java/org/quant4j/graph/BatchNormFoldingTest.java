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
