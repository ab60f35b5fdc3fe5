package org.quant4j.range.pdf;

import java.util.function.DoubleUnaryOperator;
import org.apache.commons.math3.analysis.integration.IterativeLegendreGaussIntegrator;
import org.apache.commons.math3.distribution.LaplaceDistribution;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.distribution.RealDistribution;
import org.apache.commons.math3.distribution.UniformRealDistribution;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.univariate.BrentOptimizer;
import org.apache.commons.math3.optim.univariate.SearchInterval;
import org.apache.commons.math3.optim.univariate.UnivariateObjectiveFunction;
import org.apache.commons.math3.special.Erf;

/**
 * The error of clipping a PDF at {@code ±a} and quantizing the rest uniformly: the criterion of the first range
 * (step 3 of the patent method; ACIQ, Banner et al. 2019, "Post training 4-bit quantization of convolutional
 * networks for rapid-deployment").
 *
 * <p>For a density {@code p} symmetric about 0:
 * <pre>
 *   E(a) = 2 * C(a) + (Delta^2 / 12) * W(a),      C(a) = integral_a^inf (x - a)^2 p(x) dx,   Delta = c * a
 * </pre>
 * where {@code c} is the step per unit of clip value: {@code c = 2 / 2^M} for the symmetric M-bit grid on
 * {@code [-a, a]} (ACIQ's convention), {@code c = 1 / 2^M} for the one-sided grid with all 2^M levels on
 * {@code [0, a]}. The one-sided model uses the half density {@code 2 p(x)} on {@code x >= 0}, whose E(a) is
 * literally the same expression: a one-sided channel at M bits is the symmetric problem at M + 1 bits.
 *
 * <p>{@code W(a)} is the share of values whose error is quantization noise:
 * <ul>
 *   <li>{@link NoiseWeight#INSIDE_ONLY}: {@code W = P(|x| <= a)} (the design's formula; a clipped value has only
 *       its clipping error);</li>
 *   <li>{@link NoiseWeight#ALL_VALUES}: {@code W = 1}, ACIQ's approximation (their eq. for the Laplace case,
 *       {@code 2 b^2 e^(-a/b) + a^2 / (3 * 4^M)}). ACIQ's published optima are the minima of this one; with
 *       INSIDE_ONLY the 2-bit Gaussian optimum is 1.688 sigma instead of 1.71 (1.3% lower), all other tabled
 *       values move by less than 1%.</li>
 * </ul>
 *
 * <p>C(a) in closed form for the Gaussian {@code sigma^2 [(1 + t^2) Q(t) - t phi(t)]} (t = a / sigma), the
 * Laplace {@code b^2 e^(-a/b)}, the uniform on [-h, h] {@code (h - a)^3 / (6 h)}, the Super Cauchy, the Wigner
 * semicircle and the raised cosine (see their classes); otherwise by Gauss-Legendre quadrature (Commons Math's {@link IterativeLegendreGaussIntegrator}) over
 * successive segments of growing length until the tail no longer contributes.
 */
public final class ClipError {

    /** Which values the quantization noise term counts. */
    public enum NoiseWeight {
        /** Noise on the unclipped values only: {@code W(a) = P(|x| <= a)}. */
        INSIDE_ONLY,
        /** ACIQ's approximation: noise counted on every value, {@code W(a) = 1}. */
        ALL_VALUES
    }

    private ClipError() {
    }

    /** Step per unit clip value of the symmetric M-bit grid on [-a, a]: {@code 2 / 2^M}. */
    public static double symmetricStep(int bits) {
        return Math.scalb(2.0, -bits);
    }

    /** Step per unit clip value of the one-sided M-bit grid on [0, a]: {@code 1 / 2^M}. */
    public static double oneSidedStep(int bits) {
        return Math.scalb(1.0, -bits);
    }

    /**
     * {@code C(a) = integral_a^inf (x - a)^2 p(x) dx} for a density symmetric about 0 and {@code a >= 0}.
     */
    public static double clippingMoment(RealDistribution p, double a) {
        if (p instanceof NormalDistribution n && n.getMean() == 0) {
            double s = n.getStandardDeviation();
            double t = a / s;
            double q = 0.5 * Erf.erfc(t / Math.sqrt(2));
            double phi = Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
            return s * s * Math.max(0, (1 + t * t) * q - t * phi);
        }
        if (p instanceof LaplaceDistribution l && l.getLocation() == 0) {
            double b = l.getScale();
            return b * b * Math.exp(-a / b);
        }
        if (p instanceof UniformRealDistribution u && u.getSupportLowerBound() == -u.getSupportUpperBound()) {
            double h = u.getSupportUpperBound();
            return a >= h ? 0 : Math.pow(h - a, 3) / (6 * h);
        }
        if (p instanceof SuperCauchyDistribution c && c.getLocation() == 0
                || p instanceof WignerSemicircleDistribution w && w.getLocation() == 0
                || p instanceof RaisedCosineDistribution r && r.getLocation() == 0) {
            return ((ClosedFormClipping) p).clippingMoment(a);
        }
        return numericClippingMoment(p, a);
    }

    private static double numericClippingMoment(RealDistribution p, double a) {
        IterativeLegendreGaussIntegrator integrator = new IterativeLegendreGaussIntegrator(8, 1e-10, 1e-16, 2, 64);
        double upper = p.getSupportUpperBound();
        if (a >= upper) {
            return 0;
        }
        double sigma = Math.sqrt(p.getNumericalVariance());
        if (Double.isFinite(upper)) {
            return integrator.integrate(1_000_000, x -> (x - a) * (x - a) * p.density(x), a, upper);
        }
        double total = 0;
        double lo = a;
        double len = 0.5 * sigma;
        for (int k = 0; k < 60; k++) {
            double hi = lo + len;
            double part = integrator.integrate(1_000_000, x -> (x - a) * (x - a) * p.density(x), lo, hi);
            total += part;
            if (part <= 1e-15 * total || (total == 0 && p.density(hi) == 0)) {
                break;
            }
            lo = hi;
            len *= 2;
        }
        return total;
    }

    /** {@code E(a)} for a density symmetric about 0, step {@code Delta = stepPerClip * a}. */
    public static double error(RealDistribution p, double a, double stepPerClip, NoiseWeight weight) {
        double delta = stepPerClip * a;
        double w = weight == NoiseWeight.ALL_VALUES ? 1.0 : p.cumulativeProbability(a) - p.cumulativeProbability(-a);
        return 2 * clippingMoment(p, a) + delta * delta / 12 * w;
    }

    /**
     * The clip value minimizing {@link #error}: see {@link #argmin}, from 0.02 sigma up to the support's end (or
     * 10^5 sigma).
     */
    public static double optimalClip(RealDistribution p, double stepPerClip, NoiseWeight weight) {
        double sigma = Math.sqrt(p.getNumericalVariance());
        double end = Math.min(p.getSupportUpperBound(), 1e5 * sigma);
        return argmin(a -> error(p, a, stepPerClip, weight), 0, 0.02 * sigma, end);
    }

    /**
     * The minimum of a clip error on {@code [from, end]}: a scan at {@code from + first * 1.25^i} brackets it, then
     * Commons Math's {@link BrentOptimizer} refines it (the error curves of clipping are unimodal in practice; the
     * scan guards against a flat start).
     *
     * @param error the error as a function of the clip value
     * @param from  the smallest clip value considered
     * @param first the first step of the scan above {@code from}, at most 1/64 of the interval (sets the absolute
     *              tolerance, 1e-12 of it)
     * @param end   the largest clip value considered
     */
    public static double argmin(DoubleUnaryOperator error, double from, double first, double end) {
        if (!(end > from)) {
            throw new IllegalArgumentException("empty interval [" + from + ", " + end + "]");
        }
        first = Math.min(first, (end - from) / 64); // a narrow interval still gets a scan
        double ratio = 1.25;
        int n = Math.max(2, (int) Math.ceil(Math.log((end - from) / first) / Math.log(ratio)) + 1);
        double[] a = new double[n];
        int best = 0;
        double bestE = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            a[i] = i == n - 1 ? end : from + first * Math.pow(ratio, i);
            double e = error.applyAsDouble(a[i]);
            if (e < bestE) {
                bestE = e;
                best = i;
            }
        }
        double lo = best == 0 ? from : a[best - 1];
        double hi = best == n - 1 ? end : a[best + 1];
        BrentOptimizer brent = new BrentOptimizer(1e-10, 1e-12 * first);
        double found = brent.optimize(new MaxEval(500), GoalType.MINIMIZE, new SearchInterval(lo, hi, a[best]),
                new UnivariateObjectiveFunction(error::applyAsDouble)).getPoint();
        return error.applyAsDouble(found) <= bestE ? found : a[best];
    }

    /**
     * Signal-to-quantization-noise ratio in dB of clipping at {@code a}: {@code 10 log10(E[x^2] / E(a))}.
     */
    public static double sqnr(RealDistribution p, double a, double stepPerClip, NoiseWeight weight) {
        double signal = p.getNumericalVariance() + Math.pow(p.getNumericalMean(), 2);
        return 10 * Math.log10(signal / error(p, a, stepPerClip, weight));
    }
}
