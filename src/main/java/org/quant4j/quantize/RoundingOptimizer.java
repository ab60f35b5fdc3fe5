package org.quant4j.quantize;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * AdaRound's optimization for one weight matrix (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training
 * Quantization"), in plain arithmetic on the layer's second moments, no autodiff.
 *
 * <p>The weights are an {@code O x K} matrix {@code W} (output channels by inputs; a convolution's inputs are its
 * im2col rows), each element in level units {@code u = W / m} ({@code m[o, k] = s[o] / s_x[k]}: the output
 * channel's weight scale over the folded input scale). The quantized weight is
 * <pre>  W~ = m * clamp(floor(u) + h(V), qmin, qmax),  h(V) = clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1)</pre>
 * with {@code zeta = 1.1, gamma = -0.1}, {@code V} initialised so that {@code h(V) = u - floor(u)}. The loss is
 * the layer's output error on the calibration columns {@code X} (fp32 input) and {@code X~} (the input the
 * quantized layers before it produce), per column:
 * <pre>  L = ||W~ X~ - W X||^2 / N + lambda sum (1 - |2 h(V) - 1|^beta)
 *    = tr(W~ G~ W~^T) - 2 tr(W~ P^T) + tr(W G W^T) + reg,   G~ = X~ X~^T / N,  P = W X X~^T / N,  G = X X^T / N</pre>
 * so one iteration is one {@code (O x K)(K x K)} product, {@code dL/dW~ = 2 (W~ G~ - P)}. Adam (learning rate
 * {@link #LEARNING_RATE}) on {@code V}; the regularizer is off for the first {@link #WARM_UP} of the iterations, then
 * {@code beta} falls linearly from 20 to 2; at the end each weight rounds up where {@code h(V) >= 0.5}. Elements
 * whose floor or ceiling falls outside the grid, and exact zeros (a dilated kernel's structural zeros), keep their
 * nearest level. Deterministic: every iteration uses all calibration columns.
 */
final class RoundingOptimizer {

    static final double ZETA = 1.1;
    static final double GAMMA = -0.1;
    static final double LAMBDA = 0.01;
    static final double BETA_START = 20;
    static final double BETA_END = 2;
    static final double WARM_UP = 0.2;
    static final double LEARNING_RATE = 1e-2;
    private static final double ADAM_B1 = 0.9;
    private static final double ADAM_B2 = 0.999;
    private static final double ADAM_EPS = 1e-8;

    private RoundingOptimizer() {
    }

    /**
     * The learned levels, {@code O x K} row-major.
     *
     * @param u      the weights in level units, row-major {@code O x K}
     * @param m      the level's value in weight units per element, row-major {@code O x K}
     * @param gramQ  {@code G~ = X~ X~^T / N}, {@code K x K}
     * @param cross  {@code P = W X X~^T / N}, {@code O x K}
     */
    static float[] optimize(float[] u, float[] m, INDArray gramQ, float[] cross, int rows, int k, int qmin, int qmax,
            int iterations) {
        int n = rows * k;
        float[] floor = new float[n];
        boolean[] learn = new boolean[n];
        double[] v = new double[n];
        float[] levels = new float[n];
        for (int i = 0; i < n; i++) {
            float f = (float) Math.floor(u[i]);
            floor[i] = f;
            learn[i] = u[i] != 0 && f >= qmin && f + 1 <= qmax;
            levels[i] = Math.max(qmin, Math.min(qmax, (float) Math.rint(u[i])));
            if (learn[i]) {
                double rest = u[i] - f;
                double sig = (rest - GAMMA) / (ZETA - GAMMA);
                v[i] = Math.log(sig / (1 - sig));
            }
        }
        double[] m1 = new double[n];
        double[] m2 = new double[n];
        float[] w = new float[n];
        INDArray wArr = Nd4j.createUninitialized(org.nd4j.linalg.api.buffer.DataType.FLOAT, rows, k);
        int warm = (int) Math.round(WARM_UP * iterations);
        for (int it = 0; it < iterations; it++) {
            for (int i = 0; i < n; i++) {
                w[i] = learn[i] ? (floor[i] + (float) h(v[i])) * m[i] : levels[i] * m[i];
            }
            float[] r = times(w, wArr, gramQ, rows, k);
            double beta = it < warm ? 0 : BETA_END + (BETA_START - BETA_END)
                    * (1 - (double) (it - warm) / Math.max(1, iterations - warm));
            int step = it + 1;
            double c1 = 1 - Math.pow(ADAM_B1, step);
            double c2 = 1 - Math.pow(ADAM_B2, step);
            for (int i = 0; i < n; i++) {
                if (!learn[i]) {
                    continue;
                }
                double sig = 1 / (1 + Math.exp(-v[i]));
                double stretched = sig * (ZETA - GAMMA) + GAMMA;
                if (stretched <= 0 || stretched >= 1) {
                    continue; // h is clipped here: no gradient
                }
                double dh = 2 * (r[i] - cross[i]) * m[i];
                if (beta > 0) {
                    double t = 2 * stretched - 1;
                    dh += LAMBDA * -beta * Math.pow(Math.abs(t), beta - 1) * Math.signum(t) * 2;
                }
                double g = dh * sig * (1 - sig) * (ZETA - GAMMA);
                m1[i] = ADAM_B1 * m1[i] + (1 - ADAM_B1) * g;
                m2[i] = ADAM_B2 * m2[i] + (1 - ADAM_B2) * g * g;
                v[i] -= LEARNING_RATE * (m1[i] / c1) / (Math.sqrt(m2[i] / c2) + ADAM_EPS);
            }
        }
        wArr.close();
        for (int i = 0; i < n; i++) {
            if (learn[i]) {
                levels[i] = Math.max(qmin, Math.min(qmax, floor[i] + (h(v[i]) >= 0.5 ? 1 : 0)));
            }
        }
        return levels;
    }

    /** The rectified sigmoid {@code clip(sigmoid(v) (zeta - gamma) + gamma, 0, 1)}. */
    static double h(double v) {
        double stretched = (ZETA - GAMMA) / (1 + Math.exp(-v)) + GAMMA;
        return Math.max(0, Math.min(1, stretched));
    }

    /**
     * The reconstruction loss {@code tr(W~ G~ W~^T) - 2 tr(W~ P^T) + tr(W G W^T)} of the weights {@code wq} (weight
     * units, {@code O x K} row-major), for the report and tests: the mean squared output error per column.
     */
    static double loss(float[] wq, float[] wFp32, INDArray gramQ, INDArray gram, float[] cross, int rows, int k) {
        INDArray tmp = Nd4j.createUninitialized(org.nd4j.linalg.api.buffer.DataType.FLOAT, rows, k);
        float[] a = times(wq, tmp, gramQ, rows, k);
        float[] b = times(wFp32, tmp, gram, rows, k);
        tmp.close();
        double sum = 0;
        for (int i = 0; i < wq.length; i++) {
            sum += (double) wq[i] * a[i] - 2.0 * wq[i] * cross[i] + (double) wFp32[i] * b[i];
        }
        return sum;
    }

    /** {@code w G} for {@code w} row-major {@code O x K}; small products in Java, large ones through ND4J. */
    private static float[] times(float[] w, INDArray scratch, INDArray gram, int rows, int k) {
        if ((long) rows * k * k < 100_000) {
            float[] g = gram.data().asFloat();
            float[] r = new float[rows * k];
            for (int o = 0; o < rows; o++) {
                for (int j = 0; j < k; j++) {
                    float wv = w[o * k + j];
                    if (wv == 0) {
                        continue;
                    }
                    int gj = j * k;
                    int ro = o * k;
                    for (int l = 0; l < k; l++) {
                        r[ro + l] += wv * g[gj + l];
                    }
                }
            }
            return r;
        }
        scratch.data().setData(w);
        try (INDArray r = scratch.mmul(gram)) {
            return r.data().asFloat();
        }
    }
}
