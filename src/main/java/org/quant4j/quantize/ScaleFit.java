package org.quant4j.quantize;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The weight scales that minimize a layer's output error for given integer levels, in closed form on the layer's
 * second moments (the same problems as {@link RoundingOptimizer}: {@code G} independent {@code O x K} weight
 * matrices, each row an output channel).
 *
 * <p>Row {@code r} of problem {@code g} is dequantized as {@code W~_r = alpha_c v_r} with {@code v_r = m_r * q_r} (the
 * levels times the level's value) and {@code c = index[g O + r]} its weight scale; rows that share a scale (a
 * per-tensor weight) share {@code alpha}. Its output error per column is
 * <pre>  E(alpha) = sum_r (alpha^2 v_r G~ v_r^T - 2 alpha v_r . P_r) + const,   G~ = X~ X~^T / N,  P = W X X~^T / N</pre>
 * whose minimum is at {@code alpha_c = sum_r v_r . P_r / sum_r v_r G~ v_r^T} (the least-squares scale of the
 * quantized output onto the fp32 one). Where that sum is not positive, {@code alpha_c = 1}.
 */
final class ScaleFit {

    /** Alternations of nearest rounding and the scale fit before the rounding is learned. */
    static final int NEAREST_ROUNDS = 4;

    private ScaleFit() {
    }

    /**
     * The factor {@code alpha} of each of {@code scales} weight scales for the levels {@code q} ({@code [G, O, K]}),
     * per-element level values {@code m}, {@code gramQ} ({@code [G, K, K]}) and {@code cross} P ({@code [G, O, K]}).
     */
    static double[] factors(INDArray q, INDArray m, INDArray gramQ, INDArray cross, int[] index, int scales) {
        double[] num = new double[scales];
        double[] den = new double[scales];
        try (INDArray v = q.castTo(DataType.FLOAT).mul(m); INDArray vg = Nd4j.matmul(v, gramQ);
                INDArray quadratic = vg.muli(v).sum(2); INDArray linear = v.mul(cross).sum(2)) {
            double[] a = quadratic.dup('c').data().asDouble();
            double[] b = linear.dup('c').data().asDouble();
            for (int i = 0; i < index.length; i++) {
                den[index[i]] += a[i];
                num[index[i]] += b[i];
            }
        }
        double[] alpha = new double[scales];
        for (int c = 0; c < scales; c++) {
            alpha[c] = den[c] > 0 && num[c] > 0 && Double.isFinite(num[c] / den[c]) ? num[c] / den[c] : 1;
        }
        return alpha;
    }

    /**
     * The output error of the levels {@code q} at the factors {@code alpha}, up to the constant {@code tr(W G W^T)}:
     * {@code sum_r alpha^2 v_r G~ v_r^T - 2 alpha v_r . P_r}.
     */
    static double error(INDArray q, INDArray m, INDArray gramQ, INDArray cross, double[] alpha, int[] index) {
        try (INDArray e = expand(alpha, index, q.shape()); INDArray w = q.castTo(DataType.FLOAT).mul(m).muli(e);
                INDArray wg = Nd4j.matmul(w, gramQ)) {
            return wg.muli(w).sumNumber().doubleValue() - 2 * w.mul(cross).sumNumber().doubleValue();
        }
    }

    /** The factors as an array of the problems' shape {@code [G, O, K]}: row {@code (g, o)} holds alpha of its scale. */
    static INDArray expand(double[] alpha, int[] index, long[] shape) {
        int k = (int) shape[2];
        float[] e = new float[index.length * k];
        for (int i = 0; i < index.length; i++) {
            java.util.Arrays.fill(e, i * k, (i + 1) * k, (float) alpha[index[i]]);
        }
        return Nd4j.create(e, shape, 'c');
    }

    /** Levels rounded to nearest on the grid: {@code clamp(rint(units / alpha), qmin, qmax)}. */
    static INDArray nearest(INDArray units, double[] alpha, int[] index, int qmin, int qmax) {
        float[] u = units.dup('c').data().asFloat();
        int k = (int) units.size(2);
        for (int i = 0; i < u.length; i++) {
            u[i] = Math.max(qmin, Math.min(qmax, (float) Math.rint(u[i] / alpha[index[i / k]])));
        }
        return Nd4j.create(u, units.shape(), 'c');
    }

    /**
     * Scales fitted to rounding to nearest before the rounding is learned: starting from the solved ranges
     * ({@code alpha = 1}), {@link #NEAREST_ROUNDS} alternations of rounding to nearest and {@link #factors}; the
     * factors of the round with the lowest {@link #error}, {@code alpha = 1} included.
     */
    static double[] fittedToNearest(INDArray units, INDArray m, INDArray gramQ, INDArray cross, int[] index,
            int scales, int qmin, int qmax) {
        double[] alpha = new double[scales];
        java.util.Arrays.fill(alpha, 1);
        double[] best = alpha;
        double bestError = Double.POSITIVE_INFINITY;
        for (int round = 0; round <= NEAREST_ROUNDS; round++) {
            try (INDArray q = nearest(units, alpha, index, qmin, qmax)) {
                double e = error(q, m, gramQ, cross, alpha, index);
                if (e < bestError) {
                    bestError = e;
                    best = alpha;
                }
                if (round < NEAREST_ROUNDS) {
                    alpha = factors(q, m, gramQ, cross, index, scales);
                }
            }
        }
        return best;
    }
}
