package org.quant4j.quantize;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

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
 * nearest level. Deterministic: every iteration uses all calibration columns. One step is a dozen element-wise ND4J
 * operations over every weight and one product, batched over independent problems (a depthwise convolution's
 * channels), in float32 as the paper's implementation.
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
     * The learned levels of {@code G} independent problems at once, {@code [G, O, K]} (a dense layer or convolution
     * is one problem; a depthwise convolution one per channel, {@code O = 1}).
     *
     * @param u      the weights in level units, {@code [G, O, K]}
     * @param m      the level's value in weight units per element, {@code [G, O, K]}
     * @param gramQ  {@code G~ = X~ X~^T / N} per problem, {@code [G, K, K]}
     * @param cross  {@code P = W X X~^T / N} per problem, {@code [G, O, K]}
     */
    static INDArray optimize(INDArray u, INDArray m, INDArray gramQ, INDArray cross, int qmin, int qmax,
            int iterations) {
        long[] shape = u.shape();
        float[] uf = u.dup('c').data().asFloat();
        float[] mf = m.dup('c').data().asFloat();
        int n = uf.length;
        float[] floor = new float[n];
        float[] learn = new float[n];
        float[] v0 = new float[n];
        float[] levels = new float[n];
        for (int i = 0; i < n; i++) {
            float f = (float) Math.floor(uf[i]);
            floor[i] = f;
            levels[i] = Math.max(qmin, Math.min(qmax, (float) Math.rint(uf[i])));
            if (uf[i] != 0 && f >= qmin && f + 1 <= qmax) {
                learn[i] = 1;
                double sig = (uf[i] - f - GAMMA) / (ZETA - GAMMA);
                v0[i] = (float) Math.log(sig / (1 - sig));
            }
        }
        Problem p = new Problem(Nd4j.create(learn, shape, 'c'), Nd4j.create(mf, shape, 'c'),
                cross.castTo(DataType.FLOAT).dup('c'), gramQ.castTo(DataType.FLOAT).dup('c'),
                fixedWeights(floor, levels, learn, mf, shape));
        try (INDArray v = Nd4j.create(v0, shape, 'c');
                INDArray m1 = Nd4j.zeros(DataType.FLOAT, shape);
                INDArray m2 = Nd4j.zeros(DataType.FLOAT, shape)) {
            int warm = (int) Math.round(WARM_UP * iterations);
            for (int it = 0; it < iterations; it++) {
                double beta = it < warm ? 0 : BETA_END + (BETA_START - BETA_END)
                        * (1 - (double) (it - warm) / Math.max(1, iterations - warm));
                step(v, p, m1, m2, beta, it + 1);
            }
            float[] learned = v.data().asFloat();
            for (int i = 0; i < n; i++) {
                if (learn[i] != 0) {
                    levels[i] = Math.max(qmin, Math.min(qmax, floor[i] + (h(learned[i]) >= 0.5 ? 1 : 0)));
                }
            }
            return Nd4j.create(levels, shape, 'c');
        } finally {
            p.close();
        }
    }

    /**
     * The constants of a problem: {@code mask} 1 where the rounding is learned, {@code perLevel} m, {@code cross} P,
     * {@code gram} G~ and {@code fixed} the weights' part that does not depend on V.
     */
    private record Problem(INDArray mask, INDArray perLevel, INDArray cross, INDArray gram, INDArray fixed) {

        /** {@code w G~}, batched over the problems. */
        INDArray times(INDArray w) {
            return Nd4j.matmul(w, gram);
        }

        void close() {
            for (INDArray a : new INDArray[] {mask, perLevel, cross, gram, fixed}) {
                a.close();
            }
        }
    }

    /**
     * The weights' part that does not depend on {@code V}: {@code m * floor(u)} where the rounding is learned,
     * {@code m * round(u)} elsewhere; the weights are {@code h(V) * m * learn + fixed}.
     */
    private static INDArray fixedWeights(float[] floor, float[] levels, float[] learn, float[] m, long[] shape) {
        float[] fixed = new float[floor.length];
        for (int i = 0; i < fixed.length; i++) {
            fixed[i] = (learn[i] != 0 ? floor[i] : levels[i]) * m[i];
        }
        return Nd4j.create(fixed, shape, 'c');
    }

    /**
     * One Adam step on {@code V}, in place, element-wise in ND4J: the gradient of the loss through
     * {@code W~ = h(V) m + fixed}, {@code dL/dh = 2 (W~ G~ - P) m - lambda beta |2h - 1|^(beta - 1) sign(2h - 1) 2},
     * times {@code dh/dV = sigmoid'(V) (zeta - gamma)}; elements whose rounding is not learned, or whose stretched
     * sigmoid lies outside (0, 1) (h clipped: no gradient), keep {@code V} and their moments.
     */
    private static void step(INDArray v, Problem p, INDArray m1, INDArray m2, double beta, int step) {
        try (INDArray sig = Transforms.sigmoid(v, true);
                INDArray stretched = sig.mul(ZETA - GAMMA).addi(GAMMA);
                INDArray w = stretched.dup();
                INDArray active = active(stretched, p.mask());
                INDArray scratch = sig.rsub(1)) {
            Transforms.max(w, 0.0, false);
            Transforms.min(w, 1.0, false);
            w.muli(p.perLevel()).muli(p.mask()).addi(p.fixed());
            try (INDArray grad = p.times(w)) {
                grad.subi(p.cross()).muli(p.perLevel()).muli(2);
                if (beta > 0) {
                    try (INDArray t = stretched.mul(2).subi(1); INDArray sign = Transforms.sign(t, true)) {
                        Transforms.abs(t, false);
                        Transforms.pow(t, beta - 1, false);
                        grad.addi(t.muli(sign).muli(-2 * LAMBDA * beta));
                    }
                }
                // dh/dV = sig (1 - sig) (zeta - gamma), zero where no gradient flows.
                grad.muli(sig).muli(scratch).muli(ZETA - GAMMA).muli(active);
                // m += active (1 - b) (g - m): the moments of inactive elements stay as they were.
                scratch.assign(grad).subi(m1).muli(active).muli(1 - ADAM_B1);
                m1.addi(scratch);
                scratch.assign(grad).muli(grad).subi(m2).muli(active).muli(1 - ADAM_B2);
                m2.addi(scratch);
            }
            double c1 = 1 - Math.pow(ADAM_B1, step);
            double c2 = 1 - Math.pow(ADAM_B2, step);
            // V -= lr (m1 / c1) / (sqrt(m2 / c2) + eps), on active elements.
            scratch.assign(m2).divi(c2);
            Transforms.sqrt(scratch, false).addi(ADAM_EPS);
            scratch.rdivi(m1).divi(c1).muli(active).muli(LEARNING_RATE);
            v.subi(scratch);
        }
    }

    /** 1 where the rounding is learned and the stretched sigmoid lies inside (0, 1), else 0. */
    private static INDArray active(INDArray stretched, INDArray mask) {
        try (INDArray above = stretched.gt(0.0); INDArray below = stretched.lt(1.0);
                INDArray inside = below.castTo(DataType.FLOAT)) {
            INDArray active = above.castTo(DataType.FLOAT);
            return active.muli(inside).muli(mask);
        }
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
