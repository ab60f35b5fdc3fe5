package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.TestNetworks;
import org.quant4j.convert.Dl4jConverter;

class CrossLayerEqualizationTest {

    private static double relativeError(INDArray expected, INDArray actual) {
        return expected.sub(actual).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
    }

    private static INDArray output(ModelGraph g, INDArray x) {
        return GraphExecution.output(g.graph(), Map.of(g.inputs().get(0).name(), x), g.outputs())
                .get(g.outputs().get(0));
    }

    /** A copy of the second input (the weights) of every op that has one, by the op's output variable. */
    private static Map<String, INDArray> weights(ModelGraph g) {
        Map<String, INDArray> w = new HashMap<>();
        for (SameDiffOp op : g.graph().getOps().values()) {
            if (op.getInputsToOp() != null && op.getInputsToOp().size() > 1) {
                String name = op.getInputsToOp().get(1);
                INDArray arr = g.graph().getVariable(name).getArr();
                if (arr != null) {
                    w.put(op.getOutputsOfOp().get(0), arr.dup());
                }
            }
        }
        return w;
    }

    /** max/min over channels of each channel's max |w| along {@code axis}, zero channels left out. */
    private static double spread(INDArray w, int axis) {
        double[] r = CrossLayerEqualization.channelMaxAbs(w.castTo(DataType.DOUBLE).dup('c').data().asDouble(),
                w.shape(), axis);
        double max = 0;
        double min = Double.MAX_VALUE;
        for (double v : r) {
            if (v > 0) {
                max = Math.max(max, v);
                min = Math.min(min, v);
            }
        }
        return max / min;
    }

    private static boolean depthwise(ModelGraph g, String output) {
        String op = g.graph().getVariables().get(output).getOutputOfOp();
        return g.graph().getOps().get(op).getOp()
                instanceof org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
    }

    private static ModelGraph folded(MultiLayerNetwork net) {
        return BatchNormFolding.fold(Dl4jConverter.convert(net));
    }

    @Test
    void mobileNetChainIsEqualizedAndComputesTheSame() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        BatchNormFoldingTest.randomizeBatchNorms(net.getLayers());
        ModelGraph g = folded(net);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 784);
        INDArray before = output(g, x);
        Map<String, INDArray> original = weights(g);

        List<CrossLayerEqualization.Pair> pairs = CrossLayerEqualization.equalize(g);

        // conv -> dw -> pw -> dw -> pw, and the last pointwise through global average pooling into the output layer
        assertEquals(5, pairs.size(), "pairs: " + pairs);
        for (int i = 0; i + 1 < 4; i++) {
            assertEquals(pairs.get(i).second(), pairs.get(i + 1).first(), "a chain: " + pairs);
        }
        INDArray after = output(g, x);
        assertTrue(relativeError(before, after) < 1e-5, "equalized output differs by " + relativeError(before, after));
        assertTrue(relativeError(net.output(x, false), after) < 1e-4);

        // Converged: in every pair, output channel c of the first and input channel c of the second have one range.
        Map<String, INDArray> now = weights(g);
        for (CrossLayerEqualization.Pair p : pairs) {
            INDArray w1 = now.get(p.first());
            INDArray w2 = now.get(p.second());
            int out1 = w1.rank() == 2 ? 1 : depthwise(g, p.first()) ? 2 : 0;
            int in2 = w2.rank() == 2 ? 0 : depthwise(g, p.second()) ? 2 : 1;
            double[] r1 = CrossLayerEqualization.channelMaxAbs(w1.castTo(DataType.DOUBLE).dup('c').data().asDouble(),
                    w1.shape(), out1);
            double[] r2 = CrossLayerEqualization.channelMaxAbs(w2.castTo(DataType.DOUBLE).dup('c').data().asDouble(),
                    w2.shape(), in2);
            for (int c = 0; c < r1.length; c++) {
                assertEquals(1.0, r1[c] / r2[c], 1e-3, p + " channel " + c);
            }
        }
        // Folding uneven BatchNorms spreads the depthwise channels' ranges; equalization narrows them.
        String depthwise = pairs.get(1).first();
        double spreadBefore = spread(original.get(depthwise), 2);
        double spreadAfter = spread(now.get(depthwise), 2);
        assertTrue(spreadAfter < spreadBefore / 2, depthwise + ": channel range spread " + spreadBefore + " -> "
                + spreadAfter);
    }

    @Test
    void residualBranchesAndSharedValuesAreLeftAlone() {
        ComputationGraph net = TestNetworks.resNetStyle();
        BatchNormFoldingTest.randomizeBatchNorms(net.getLayers());
        ModelGraph g = BatchNormFolding.fold(Dl4jConverter.convert(net));
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 784);
        INDArray before = output(g, x);
        Map<String, INDArray> original = weights(g);

        List<CrossLayerEqualization.Pair> pairs = CrossLayerEqualization.equalize(g);

        Set<String> firsts = pairs.stream().map(CrossLayerEqualization.Pair::first).collect(Collectors.toSet());
        // a1 -> a2 and b1 -> b2 (conv, ReLU, conv), fc -> out (dense, ReLU, dense)
        assertTrue(firsts.containsAll(Set.of("a1_conv/preact", "b1_conv/preact", "fc/preact")), "pairs: " + pairs);
        assertEquals(3, pairs.size(), "pairs: " + pairs);
        // stem_relu is read by a1 and the add; a2, b2 and bproj feed adds: untouched
        for (String untouched : List.of("stem_conv/preact", "bproj_conv/preact")) {
            assertEquals(original.get(untouched), weights(g).get(untouched), untouched + " was changed");
        }
        INDArray after = output(g, x);
        assertTrue(relativeError(before, after) < 1e-5, "equalized output differs by " + relativeError(before, after));
    }

    @Test
    void clippingActivationStopsAPairAndReluDoesNot() {
        for (Activation act : List.of(Activation.RELU6, Activation.RELU, Activation.LEAKYRELU, Activation.TANH)) {
            MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                    .weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list()
                    .layer(new ConvolutionLayer.Builder(3, 3).name("c1").nOut(6).activation(act).build())
                    .layer(new ConvolutionLayer.Builder(3, 3).name("c2").nOut(4).activation(Activation.IDENTITY)
                            .build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                            .activation(Activation.SOFTMAX).build())
                    .setInputType(InputType.convolutional(8, 8, 2)).build());
            net.init();
            // uneven output channels in c1, so that equalization has something to do
            INDArray w = net.getLayer(0).getParam("W");
            for (int o = 0; o < 6; o++) {
                w.slice(o).muli(Math.pow(4, o - 2));
            }
            ModelGraph g = folded(net);
            INDArray x = Nd4j.rand(DataType.FLOAT, 4, 2, 8, 8);
            INDArray before = output(g, x);
            Map<String, INDArray> original = weights(g);
            List<CrossLayerEqualization.Pair> pairs = CrossLayerEqualization.equalize(g);
            boolean homogeneous = act == Activation.RELU || act == Activation.LEAKYRELU;
            assertEquals(homogeneous, pairs.stream().anyMatch(p -> p.first().equals("c1/preact")), act + ": " + pairs);
            if (!homogeneous) {
                assertArrayEquals(original.get("c1/preact").data().asFloat(), weights(g).get("c1/preact").data().asFloat(), 0f);
            } else {
                assertTrue(spread(weights(g).get("c1/preact"), 0) < spread(original.get("c1/preact"), 0) / 4);
            }
            INDArray after = output(g, x);
            assertTrue(relativeError(before, after) < 1e-5, act + ": output differs by "
                    + relativeError(before, after));
        }
    }
}
