package org.quant4j.range.pdf;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.commons.math3.analysis.interpolation.SplineInterpolator;
import org.apache.commons.math3.analysis.polynomials.PolynomialSplineFunction;
import org.apache.commons.math3.distribution.RealDistribution;
import org.quant4j.range.pdf.ClipError.NoiseWeight;

/**
 * What the patent method needs of each family, computed once for the unit member and reused for every channel
 * (the speed design of the "patent" solver, see {@code docs/RANGE_METHODS.md}).
 *
 * <h2>Why one member per family is enough</h2>
 * Every family is a location-scale family without a shape parameter, and the step of the grid is proportional to
 * the clip value ({@code Delta = c a}). For the member of standard deviation {@code s} (p_s(x) = p_1(x / s) / s):
 * <pre>
 *   C_s(a) = s^2 C_1(a / s),   W_s(a) = W_1(a / s),   so   E_s(a) = s^2 E_1(a / s)
 *   argmin_a E_s(a) = s * argmin_t E_1(t),            SQNR_s(a) = 10 log10(s^2 / E_s(a)) = -10 log10(E_1(a / s))
 * </pre>
 * so the first range in normalized units is {@code spread * t*(family, c, weight)} with {@code t*} solved once per
 * (family, step, noise weight) by {@link ClipError#optimalClip} and cached, and the SQNR of a statistical point
 * needs only {@code E_1} at one point.
 *
 * <h2>C_1(t) of the families without a closed form</h2>
 * Gaussian, Laplace, uniform, Super Cauchy, semicircle and raised cosine have closed forms (used as they are).
 * The logistic and the hyperbolic secant (polylogarithms) are tabulated once: {@code C_1} at {@code t = k / 64} by
 * {@link ClipError#clippingMoment} (adaptive Gauss-Legendre) from {@code t = -0.5} up to {@code t = 40}, joined by a
 * natural cubic spline (Commons Math's {@link SplineInterpolator}); beyond the table the quadrature is called. The
 * spline agrees with the quadrature to 1e-7 of {@code E_1} at every tested point ({@code FamilyTablesTest}).
 *
 * <p>All tables are built lazily on first use and are safe to share between threads.
 */
public final class FamilyTables {

    /** Table spacing of C_1 for the tabulated families. */
    static final double TABLE_STEP = 1.0 / 64;
    /** Where the table of an unbounded family ends (C_1(40) is below 1e-25 for the logistic and the sech). */
    static final double TABLE_END = 40;
    /** Where every table starts: -TABLE_START (C_1 of a negative t is the same integral, from below 0). */
    static final double TABLE_START = 0.5;

    private static final Map<PdfFamily, RealDistribution> UNIT = new EnumMap<>(PdfFamily.class);

    static {
        for (PdfFamily f : PdfFamily.values()) {
            UNIT.put(f, f.create(0, 1));
        }
    }

    private static final Map<PdfFamily, Table> TABLES = new ConcurrentHashMap<>();
    private static final Map<OptimumKey, Double> OPTIMA = new ConcurrentHashMap<>();

    private record OptimumKey(PdfFamily family, double stepPerClip, NoiseWeight weight) {
    }

    /** A spline of C_1 on [0, end]; C_1 = 0 past a bounded support. */
    private record Table(PolynomialSplineFunction spline, double end, boolean bounded) {
    }

    private FamilyTables() {
    }

    /** The unit member (mean 0, standard deviation 1) of the family; shared, do not sample from it. */
    public static RealDistribution unit(PdfFamily family) {
        return UNIT.get(family);
    }

    /** Whether {@code C_1} of the family is tabulated (no closed form). */
    public static boolean tabulated(PdfFamily family) {
        return family == PdfFamily.LOGISTIC || family == PdfFamily.HYPERBOLIC_SECANT;
    }

    /** {@code C_1(t) = integral_t^inf (x - t)^2 p_1(x) dx} of the unit member, {@code t >= 0}. */
    public static double unitClippingMoment(PdfFamily family, double t) {
        RealDistribution p = UNIT.get(family);
        if (!tabulated(family)) {
            return ClipError.clippingMoment(p, t);
        }
        Table table = TABLES.computeIfAbsent(family, FamilyTables::build);
        if (t <= table.end) {
            return Math.max(0, table.spline.value(t));
        }
        return table.bounded ? 0 : ClipError.clippingMoment(p, t);
    }

    /** {@code E_1(t)} of the unit member (see {@link ClipError#error}). */
    public static double unitError(PdfFamily family, double t, double stepPerClip, NoiseWeight weight) {
        RealDistribution p = UNIT.get(family);
        double delta = stepPerClip * t;
        double w = weight == NoiseWeight.ALL_VALUES ? 1.0 : p.cumulativeProbability(t) - p.cumulativeProbability(-t);
        return 2 * unitClippingMoment(family, t) + delta * delta / 12 * w;
    }

    /**
     * The SQNR in dB of clipping the member of standard deviation {@code spread} at {@code a}; equal to
     * {@link ClipError#sqnr} of that member.
     */
    public static double sqnr(PdfFamily family, double spread, double a, double stepPerClip, NoiseWeight weight) {
        return 10 * Math.log10(UNIT.get(family).getNumericalVariance()
                / unitError(family, a / spread, stepPerClip, weight));
    }

    /**
     * The first range of the member of standard deviation {@code spread}: {@code spread * argmin E_1}, the
     * argmin solved once per (family, step, weight) by {@link ClipError#optimalClip} and cached.
     */
    public static double optimalClip(PdfFamily family, double spread, double stepPerClip, NoiseWeight weight) {
        double t = OPTIMA.computeIfAbsent(new OptimumKey(family, stepPerClip, weight),
                k -> ClipError.optimalClip(UNIT.get(k.family()), k.stepPerClip(), k.weight()));
        return spread * t;
    }

    /**
     * {@code T_1(u) = integral_u^inf (z - u)^2 p_1(z) dz} of the unit member for any real u: {@link
     * #unitClippingMoment} for {@code u >= 0}; below 0, by symmetry and {@code E[(Z - u)^2] = 1 + u^2},
     * {@code T_1(u) = 1 + u^2 - C_1(-u)}.
     */
    public static double unitTailMoment(PdfFamily family, double u) {
        return u >= 0 ? unitClippingMoment(family, u) : 1 + u * u - unitClippingMoment(family, -u);
    }

    /**
     * {@code E(a)} of a one-sided channel modelled as the positive part of the member {@code Y = offset + spread Z}
     * (Z the unit member), conditioned on {@code Y > 0} (the exact zeros are set aside, see {@link PdfFitter}).
     * With {@code u = (a - offset) / spread} and {@code u0 = -offset / spread}, {@code P(Y > 0) = F_1(-u0)}:
     * <pre>
     *   E(a) = spread^2 T_1(u) / F_1(-u0) + (c a)^2 / 12 * W,   W = (F_1(u) - F_1(u0)) / F_1(-u0) (or 1, ALL_VALUES)
     * </pre>
     * At {@code offset = 0} this is the folded half model: {@code spread^2 E_1(a / spread)} of {@link #unitError}.
     */
    public static double oneSidedError(PdfFamily family, double offset, double spread, double a,
            double stepPerClip, NoiseWeight weight) {
        RealDistribution p = UNIT.get(family);
        double u = (a - offset) / spread;
        double u0 = -offset / spread;
        double positive = p.cumulativeProbability(-u0);
        double delta = stepPerClip * a;
        double w = weight == NoiseWeight.ALL_VALUES ? 1.0
                : (p.cumulativeProbability(u) - p.cumulativeProbability(u0)) / positive;
        return spread * spread * unitTailMoment(family, u) / positive + delta * delta / 12 * w;
    }

    /** {@code E[Y^2 | Y > 0] = spread^2 T_1(u0) / F_1(-u0)} of the one-sided model of {@link #oneSidedError}. */
    public static double oneSidedSignal(PdfFamily family, double offset, double spread) {
        double u0 = -offset / spread;
        return spread * spread * unitTailMoment(family, u0) / UNIT.get(family).cumulativeProbability(-u0);
    }

    /** The SQNR in dB of clipping the one-sided model at {@code a}: {@code 10 log10(signal / E(a))}. */
    public static double oneSidedSqnr(PdfFamily family, double offset, double spread, double a, double stepPerClip,
            NoiseWeight weight) {
        return 10 * Math.log10(oneSidedSignal(family, offset, spread)
                / oneSidedError(family, offset, spread, a, stepPerClip, weight));
    }

    /**
     * The first range of the one-sided model: {@code argmin E(a)} over {@code a} from {@code max(offset, 0)} (a
     * clip below the centre of the values is never optimal on grids of 2 bits or more) to the end of the support or
     * {@code offset + 40 spread}. At {@code offset = 0}, {@link #optimalClip} (cached).
     */
    public static double oneSidedOptimalClip(PdfFamily family, double offset, double spread, double stepPerClip,
            NoiseWeight weight) {
        if (offset == 0) {
            return optimalClip(family, spread, stepPerClip, weight);
        }
        double from = Math.max(offset, 0);
        double end = offset + spread * Math.min(family.supportHalfWidth(1), TABLE_END);
        return ClipError.argmin(a -> oneSidedError(family, offset, spread, a, stepPerClip, weight), from,
                0.02 * spread, end);
    }

    private static Table build(PdfFamily family) {
        RealDistribution p = UNIT.get(family);
        boolean bounded = family.bounded();
        double end = bounded ? family.supportHalfWidth(1) : TABLE_END;
        // starts below 0 so that the natural spline's end condition (C'' = 0, while C''(0) = 1) stays off [0, end]
        int before = (int) (TABLE_START / TABLE_STEP);
        int n = (int) Math.ceil(end / TABLE_STEP) + before;
        double[] t = new double[n + 1];
        double[] c = new double[n + 1];
        for (int i = 0; i <= n; i++) {
            t[i] = Math.min(end, (i - before) * TABLE_STEP);
            c[i] = ClipError.clippingMoment(p, t[i]);
        }
        return new Table(new SplineInterpolator().interpolate(t, c), end, bounded);
    }
}
