package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.range.QuantGrid;

/**
 * A weight larger than {@link FakeQuantRewriter#quantizeWeights}'s block gets each value's level from its own
 * channel's scale, {@code clamp(rint(w / s_c), qmin, qmax)}, across the block boundaries; the weight is unchanged.
 */
class QuantizeWeightsTest {

    private static TensorQuantization weight(int axis, float[] scales) {
        double[] zeros = new double[scales.length];
        return new TensorQuantization("w", TensorQuantization.Kind.WEIGHT, 2, axis, new QuantGrid(8, true), scales,
                zeros, zeros, List.of("op"), null, -1, new float[0]);
    }

    private static void check(INDArray w, TensorQuantization t) {
        INDArray before = w.dup();
        INDArray levels = FakeQuantRewriter.quantizeWeights(w, t);
        assertArrayEquals(w.shape(), levels.shape());
        assertEquals(before, w, "the weight is left as it was");
        float[] values = w.dup('c').data().asFloat();
        float[] got = levels.dup('c').data().asFloat();
        long cols = w.size(1);
        int clipped = 0;
        for (int i = 0; i < values.length; i++) {
            int c = t.perTensor() ? 0 : (int) (t.axis() == 0 ? i / cols : i % cols);
            float expected = Math.max(-127, Math.min(127, (float) Math.rint(values[i] / t.scales()[c])));
            assertEquals(expected, got[i], 0f, "value " + i + " (channel " + c + ")");
            clipped += Math.abs(expected) == 127 ? 1 : 0;
        }
        assertTrue(clipped > 0, "some values are clipped");
    }

    @Test
    void perChannelLevelsAcrossBlocks() {
        Nd4j.getRandom().setSeed(11);
        INDArray w = Nd4j.randn(DataType.FLOAT, 2100, 2100); // 4.4 M values: two blocks
        assertTrue(w.length() > FakeQuantRewriter.WEIGHT_BLOCK);
        float[] scales = new float[2100];
        for (int c = 0; c < scales.length; c++) {
            scales[c] = 0.005f + 0.02f * c / scales.length;
        }
        check(w, weight(1, scales));
        check(w, weight(0, scales));
        check(w.transpose(), weight(1, scales)); // an F-order view
        check(w, weight(-1, new float[] {0.02f}));
    }

    /**
     * {@link FakeQuantRewriter#foldedLevels} (fold, round and clamp block by block) gives bit for bit the levels of the
     * folded weight, {@code quantizeWeights(foldInputScales(W))}, in float and in INT8, across blocks.
     */
    @Test
    void foldedLevelsAreTheLevelsOfTheFoldedWeightBitForBit() {
        Nd4j.getRandom().setSeed(12);
        INDArray w = Nd4j.randn(DataType.FLOAT, 2100, 2100);
        float[] scales = new float[2100];
        float[] inputScales = new float[2100];
        for (int c = 0; c < scales.length; c++) {
            scales[c] = 0.003f + 0.01f * c / scales.length;
            inputScales[c] = 0.1f + 1.7f * ((c * 7919) % 2100) / 2100f;
        }
        double[] zeros = new double[scales.length];
        TensorQuantization t = new TensorQuantization("w", TensorQuantization.Kind.WEIGHT, 2, 1,
                new QuantGrid(8, true), scales, zeros, zeros, List.of("op"), "x", 0, inputScales);
        INDArray expected = FakeQuantRewriter.quantizeWeights(FakeQuantRewriter.foldInputScales(w, t), t);
        assertArrayEquals(expected.dup('c').data().asFloat(),
                FakeQuantRewriter.foldedLevels(w, t, DataType.FLOAT).dup('c').data().asFloat());
        assertArrayEquals(expected.castTo(DataType.INT8).dup('c').data().asInt(),
                FakeQuantRewriter.foldedLevels(w, t, DataType.INT8).dup('c').data().asInt());
    }
}
