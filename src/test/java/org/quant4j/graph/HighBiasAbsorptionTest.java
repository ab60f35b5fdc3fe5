package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.TestNetworks;
import org.quant4j.convert.Dl4jConverter;

/**
 * High-bias absorption after cross-layer equalization, on a MobileNet-style network whose BatchNorms give some
 * channels a high mean ({@code beta > 3 |gamma|}) and inputs on which every pre-activation stays above its shift: the
 * fp32 output is that of equalization alone, and the absorbed channels' ReLU outputs lose their shift.
 */
class HighBiasAbsorptionTest {

    private static MultiLayerNetwork network() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        java.util.Random r = new java.util.Random(3);
        for (org.deeplearning4j.nn.api.Layer l : net.getLayers()) {
            if (l instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization) {
                Map<String, INDArray> p = l.paramTable();
                for (long c = 0; c < p.get("gamma").length(); c++) {
                    // A large running variance: each channel's pre-activation stays within a few hundredths of beta.
                    if (p.containsKey("var")) {
                        p.get("var").putScalar(c, 1e4);
                    } else {
                        p.get("log10stdev").putScalar(c, 2); // DL4J's default: the log10 of the standard deviation
                    }
                    p.get("mean").putScalar(c, 0);
                    p.get("gamma").putScalar(c, 0.5 + r.nextDouble());
                    p.get("beta").putScalar(c, c % 2 == 0 ? 5 + r.nextDouble() : r.nextGaussian());
                }
            }
        }
        return net;
    }

    private static Map<String, INDArray> run(ModelGraph g, INDArray x, List<String> names) {
        return GraphExecution.output(g.graph(), Map.of(g.inputs().get(0).name(), x), names);
    }

    @Test
    void absorbedShiftsChangeNoOutputWhereThePreActivationsStayAbove() {
        MultiLayerNetwork net = network();
        ModelGraph plain = BatchNormFolding.fold(Dl4jConverter.convert(net));
        Map<String, BatchNormFolding.Folded> batchNorms = new HashMap<>();
        ModelGraph absorbed = BatchNormFolding.fold(Dl4jConverter.convert(net), batchNorms);
        List<CrossLayerEqualization.Pair> pairs = CrossLayerEqualization.equalize(plain);
        CrossLayerEqualization.equalize(absorbed, batchNorms);

        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 784);
        String out = plain.outputs().get(0);
        // The ReLU after each pair's first op: the first op's output's only reader's output.
        List<String> relus = pairs.stream().map(p -> {
            String reader = plain.graph().getVariables().get(p.first()).getInputsForOp().get(0);
            return plain.graph().getOps().get(reader).getOutputsOfOp().get(0);
        }).toList();
        List<String> names = new java.util.ArrayList<>(relus);
        names.add(out);
        Map<String, INDArray> a = run(plain, x, names);
        Map<String, INDArray> b = run(absorbed, x, names);
        double err = a.get(out).sub(b.get(out)).amaxNumber().doubleValue() / a.get(out).amaxNumber().doubleValue();
        assertTrue(err < 1e-5, "the output changed by " + err);

        double largestDrop = 0;
        for (String relu : relus) {
            double drop = a.get(relu).maxNumber().doubleValue() - b.get(relu).maxNumber().doubleValue();
            assertTrue(drop >= -1e-4, relu + ": its range grew by " + -drop);
            largestDrop = Math.max(largestDrop, drop);
        }
        assertTrue(largestDrop > 1, "no ReLU output lost a shift (largest drop " + largestDrop + ")");
    }

    @Test
    void aPreActivationBelowTheShiftChangesTheOutput() {
        // The same network on inputs a hundred times larger: pre-activations leave the few hundredths around beta,
        // fall below beta - 3 |gamma|, and the absorbed shift shows (what the first test would miss if it held
        // everywhere).
        MultiLayerNetwork net = network();
        ModelGraph plain = BatchNormFolding.fold(Dl4jConverter.convert(net));
        Map<String, BatchNormFolding.Folded> batchNorms = new HashMap<>();
        ModelGraph absorbed = BatchNormFolding.fold(Dl4jConverter.convert(net), batchNorms);
        List<CrossLayerEqualization.Pair> pairs = CrossLayerEqualization.equalize(plain);
        CrossLayerEqualization.equalize(absorbed, batchNorms);
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 784).subi(0.5).muli(2000);
        List<String> seconds = pairs.stream().map(CrossLayerEqualization.Pair::second).toList();
        Map<String, INDArray> a = run(plain, x, seconds);
        Map<String, INDArray> b = run(absorbed, x, seconds);
        double largest = 0;
        for (String second : seconds) {
            largest = Math.max(largest, a.get(second).sub(b.get(second)).amaxNumber().doubleValue()
                    / a.get(second).amaxNumber().doubleValue());
        }
        assertTrue(largest > 1e-4, "no difference where the promise does not hold: " + largest);
    }
}
