package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.report.SqnrMeter;

/**
 * Weights behind ops of constants, as ONNX and TensorFlow imports leave them: folded and quantized when the ops only
 * move or retype values, named as left in fp32 otherwise.
 */
class ConstantWeightsTest {

    /**
     * x [N, 8] times a weight stored [4, 8] in double, reached through cast, transpose and identity; then a weight
     * stored flat [24] reshaped to [4, 6]; a softmax.
     */
    private static SameDiff importedStyleMlp() {
        Nd4j.getRandom().setSeed(271);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 8);
        SDVariable stored = sd.constant("w1_stored", Nd4j.randn(DataType.DOUBLE, 4, 8).muli(0.4));
        SDVariable w1 = sd.identity("w1", sd.transpose("w1_t", sd.castTo("w1_f", stored, DataType.FLOAT)));
        SDVariable h = sd.nn.relu("h", sd.mmul("fc1", x, w1), 0);
        SDVariable flat = sd.constant("w2_flat", Nd4j.randn(DataType.FLOAT, 24).muli(0.4));
        SDVariable w2 = sd.reshape("w2", flat, 4, 6);
        sd.nn.softmax("probs", sd.mmul("fc2", h, w2), 1);
        return sd;
    }

    @Test
    void weightsBehindCastTransposeIdentityAndReshapeAreFoldedAndQuantized() {
        SameDiff sd = importedStyleMlp();
        List<String> opsBefore = new ArrayList<>(sd.getOps().keySet());
        QuantizedModel q = Quantizer.quantize(sd, TestNetworks.randomIterator(16, 8, 6, 4, 277));
        assertEquals(List.of("fc1", "fc2"), q.report().quantizedOps());
        List<String> weights = q.quantizations().stream().filter(t -> t.kind() == TensorQuantization.Kind.WEIGHT)
                .map(TensorQuantization::tensor).toList();
        assertEquals(List.of("w1", "w2"), weights);
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 8); // as the calibration batches: uniform in [0, 1)
        INDArray expected = sd.outputSingle(Map.of("x", x), "probs");
        SqnrMeter m = new SqnrMeter();
        m.add(expected, q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "output SQNR " + m.sqnrDb() + " dB");
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        assertTrue(q.output(x).sub(q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]).amaxNumber().doubleValue()
                < 1e-3, "int8 plan far from the fake-quant graph");
        assertTrue(q.int8Network().summary(x.shape()).startsWith("2 int8 kernels"),
                q.int8Network().summary(x.shape()));
        // the user's graph keeps its ops
        assertEquals(opsBefore, new ArrayList<>(sd.getOps().keySet()));
    }

    @Test
    void foldingKeepsTheValuesAndLeavesNothingInFp32() {
        SameDiff copy = importedStyleMlp();
        INDArray x = Nd4j.randn(DataType.FLOAT, 5, 8);
        INDArray before = copy.outputSingle(Map.of("x", x), "probs");
        assertEquals(List.of("w1", "w2"), ConstantWeights.fold(copy));
        assertTrue(!copy.getOps().containsKey("w1_t") && !copy.hasVariable("w1_stored"), "the folded ops are gone");
        assertEquals(before, copy.outputSingle(Map.of("x", x), "probs"));
        assertEquals(List.of(), ConstantWeights.leftInFp32(copy));
    }

    @Test
    void weightsThatCannotBeQuantizedAreNamed() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 8);
        // computed by a product of two constants: not folded
        SDVariable scaled = sd.math.mul("w1", sd.constant("w1_a", Nd4j.rand(DataType.FLOAT, 8, 8)),
                sd.constant("w1_b", Nd4j.rand(DataType.FLOAT, 8, 8)));
        SDVariable h = sd.mmul("fc1", x, scaled);
        // a matrix product transposing its first operand
        sd.mmul("fc2", h, sd.constant("w2", Nd4j.rand(DataType.FLOAT, 5, 8)), true, false, false);
        SameDiff copy = sd;
        ConstantWeights.fold(copy);
        List<String> left = ConstantWeights.leftInFp32(copy);
        assertEquals(2, left.size(), left.toString());
        assertTrue(left.get(0).contains("'fc1'") && left.get(0).contains("'w1'") && left.get(0).contains("multiply"),
                left.get(0));
        assertTrue(left.get(1).contains("'fc2'") && left.get(1).contains("transposeA") && left.get(1).contains("[5, 8]"),
                left.get(1));
    }
}
