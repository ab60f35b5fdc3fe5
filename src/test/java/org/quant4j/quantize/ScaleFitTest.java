package org.quant4j.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The closed-form weight scale fit: on problems whose best scale is known it finds it, and elsewhere no nearby
 * factor has a lower output error (the error measured on the columns themselves, not through the formula).
 */
class ScaleFitTest {

    private static final int G = 3;
    private static final int O = 4;
    private static final int K = 6;
    private static final int N = 200;

    /** {@code ||W~ X~ - W X||^2 / N} summed over problems, computed from the columns. */
    private static double measured(INDArray wq, INDArray w, INDArray xq, INDArray x) {
        INDArray d = Nd4j.matmul(wq, xq).subi(Nd4j.matmul(w, x));
        return d.mul(d).sumNumber().doubleValue() / N;
    }

    private static INDArray gram(INDArray a, INDArray b) {
        return Nd4j.matmul(a, b.permute(0, 2, 1)).divi(N);
    }

    @Test
    void levelsAtTwiceTheirScaleGetFactorTwo() {
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, G, K, N);
        INDArray q = Nd4j.randn(DataType.FLOAT, G, O, K).muli(4);
        q.assign(org.nd4j.linalg.ops.transforms.Transforms.round(q));
        INDArray m = Nd4j.rand(DataType.FLOAT, G, O, K).addi(0.5);
        INDArray w = q.mul(m).muli(2); // the weights are exactly the levels at twice the scale
        INDArray cross = Nd4j.matmul(w, gram(x, x));
        int[] perRow = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        double[] alpha = ScaleFit.factors(q, m, gram(x, x), cross, perRow, G * O);
        for (double a : alpha) {
            assertEquals(2.0, a, 1e-4);
        }
        // Shared scales (one per problem, as a depthwise convolution's channels): still 2.
        int[] perGroup = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
        assertArrayEquals(new double[] {2, 2, 2}, ScaleFit.factors(q, m, gram(x, x), cross, perGroup, G), 1e-4);
    }

    @Test
    void theFittedFactorsMinimizeTheMeasuredOutputError() {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.FLOAT, G, K, N);
        INDArray xq = x.add(Nd4j.randn(DataType.FLOAT, G, K, N).muli(0.05)); // the quantized layers' input
        INDArray w = Nd4j.randn(DataType.FLOAT, G, O, K);
        INDArray m = Nd4j.ones(DataType.FLOAT, G, O, K).muli(0.3);
        INDArray units = w.div(m);
        int[] index = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}; // rows share their scale across problems
        INDArray gramQ = gram(xq, xq);
        INDArray cross = Nd4j.matmul(w, gram(x, xq));
        INDArray q = ScaleFit.nearest(units, new double[] {1, 1, 1, 1}, index, -8, 7);
        double[] alpha = ScaleFit.factors(q, m, gramQ, cross, index, O);
        double best = measured(q.mul(m).muli(ScaleFit.expand(alpha, index, q.shape())), w, xq, x);
        assertEquals(best, ScaleFit.error(q, m, gramQ, cross, alpha, index)
                + Nd4j.matmul(w, gram(x, x)).muli(w).sumNumber().doubleValue(), 1e-3 * best, "error up to tr(WGW^T)");
        for (int c = 0; c < O; c++) {
            for (double step : new double[] {-0.02, 0.02}) {
                double[] moved = alpha.clone();
                moved[c] += step;
                double other = measured(q.mul(m).muli(ScaleFit.expand(moved, index, q.shape())), w, xq, x);
                assertTrue(other > best, "factor " + c + " moved by " + step + ": " + other + " <= " + best);
            }
        }
        double[] fitted = ScaleFit.fittedToNearest(units, m, gramQ, cross, index, O, -8, 7);
        double[] one = {1, 1, 1, 1};
        assertTrue(ScaleFit.error(ScaleFit.nearest(units, fitted, index, -8, 7), m, gramQ, cross, fitted, index)
                <= ScaleFit.error(q, m, gramQ, cross, one, index), "the fit to nearest rounding lost to the solved scales");
    }
}
