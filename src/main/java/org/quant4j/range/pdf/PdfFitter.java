package org.quant4j.range.pdf;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import java.util.function.ToDoubleFunction;
import org.apache.commons.math3.distribution.RealDistribution;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.CumulativeCounts;
import org.quant4j.calib.Histogram;
import org.quant4j.range.pdf.PdfFit.Side;

/**
 * Fits the PDF families of claim 10 to one channel and picks the best (step 2 of the patent method).
 *
 * <h2>Normalization and fit by moments</h2>
 * <ul>
 *   <li>Two-sided channel: {@code z = (x - mean) / std}; every family is taken with mean 0 and variance 1 (none
 *       has a shape parameter, so the fit by moments is complete).</li>
 *   <li>One-sided channel ({@code min >= 0}, e.g. post-ReLU; or {@code max <= 0}): the channel is read as the
 *       folded half {@code |y|} of a symmetric parent y. Exact zeros are set aside first (a ReLU maps the whole
 *       negative half there; zero is exactly representable, so they add no error and do not move the optimal clip);
 *       the non-zero values are normalized by their root mean square {@code r = sqrt(E[x^2 | x != 0])}, which is
 *       the parent's standard deviation, so each family is taken with mean 0, variance 1, and the model density
 *       is {@code 2 p(z)} on {@code z >= 0} (the folded half: it reads every channel as if half its parent were
 *       cut off).</li>
 *   <li>One-sided channel with exact zeros, second member of each family: the rectified member. A ReLU after a
 *       BatchNorm passes {@code max(Y, 0)} of a pre-activation Y whose mean is not 0, so the zero fraction
 *       {@code pi0} is not 1/2 and the non-zero values peak away from zero (or, for a sparse channel, are the upper
 *       tail of Y). The member {@code Y = offset + spread Z} is fixed by the zero fraction
 *       ({@code P(Y <= 0) = pi0}) and the RMS of the non-zero values, and models them by the density
 *       {@code p(z) / P(Y > 0)} on z > 0; the folded half is the case {@code pi0 = 1/2}. It adds no free
 *       parameter fitted to the non-zero values' shape (the zero fraction is counted, not fitted), so the
 *       likelihood below compares it fairly with the folded member.</li>
 *   <li>Super Cauchy: its scale comes from the quartiles, not the variance ({@link #superCauchySpread}); its
 *       4th moment is infinite, which makes the sample variance an unreliable scale.</li>
 *   <li>Bounded families (uniform, semicircle, raised cosine): the variance-matched member is widened, if needed,
 *       until its support holds the observed extremes: a member under which observed values are impossible is no
 *       fit (and sampling noise of the variance alone puts a few uniform samples outside the matched support).</li>
 * </ul>
 *
 * <h2>Goodness of fit</h2>
 * The binned log-likelihood per value, {@code L = (1 / n) sum_i c_i ln P_i}, where {@code c_i} are the histogram
 * counts and {@code P_i = F(z_right) - F(z_left)} the probability the fitted member gives bin i (doubled for the
 * half density; upper-tail differences are taken on the mirrored side to keep their precision). It is the
 * multinomial likelihood of the histogram, i.e. {@code -(KL(histogram || model) + const)}: the most powerful way to
 * tell the families apart with the information a histogram holds. The member with the largest L is chosen (of
 * a one-sided channel: the folded or the rectified member of each family, 16 candidates).
 *
 * <h2>The fast variant ({@link #fitBinned})</h2>
 * The same statistic on fixed bins in normalized units instead of the channel's 2048 bins: edges at
 * {@code z = 0, ±0.1, ..., ±4} (step 0.1), then {@code ±4.5 .. ±8} (step 0.5), {@code ±9 .. ±12}, {@code ±14, 16, 20,
 * 24, 32, 48, 64, 96, 128, ±infinity} (one-sided: the non-negative half). Because the edges are fixed in
 * normalized units, {@code ln P_j} of every family member with spread 1 is computed once; a channel costs one pass
 * of running sums over its histogram, 2 x 61 + 3 look-ups of the counts below the edges (values uniform inside a
 * histogram bin, as above) and 8 dot products; only the members with a spread other than 1 (the Super Cauchy, a
 * widened bounded family) evaluate their cdf at the edges. It picks the same family as {@link #fit} on the
 * families' samples; where two families are nearly tied it may pick the other one (measured in
 * {@code FittedPdfRangeSolverTest#tabulatedMatchesExact}).
 */
public final class PdfFitter {

    private static final double FLOOR = 1e-300;

    private final List<PdfFamily> families;
    private final boolean rectified;

    /** A fitter trying all eight families, folded and rectified members. */
    public PdfFitter() {
        this(List.of(PdfFamily.values()));
    }

    /** A fitter trying the given families, folded and rectified members. */
    public PdfFitter(List<PdfFamily> families) {
        this(families, true);
    }

    /**
     * A fitter trying the given families; {@code rectified = false} models every one-sided channel by the folded
     * half only (the fitter before rectified members existed, kept for measurement).
     */
    public PdfFitter(List<PdfFamily> families, boolean rectified) {
        if (families.isEmpty()) {
            throw new IllegalArgumentException("no family to fit");
        }
        this.families = List.copyOf(families);
        this.rectified = rectified;
    }

    /** Fits the channel; it must have at least 2 values and a positive variance. */
    public PdfFit fit(ChannelStatistics channel) {
        return fitAll(channel).get(0);
    }

    /** Every candidate member fitted to the channel, the most likely first (see {@link #fit}). */
    public List<PdfFit> fitAll(ChannelStatistics channel) {
        Normalization z = Normalization.of(channel);
        Histogram h = channel.histogram();
        long zeros = z.side().oneSided() ? channel.zeros() : 0;
        return ranked(z, members(z, channel, h::quantile),
                m -> logLikelihood(h, m.family().create(0, m.spread()), z.side(), z.location(), z.scale(),
                        m.offset(), zeros));
    }

    /** One candidate member: a family, its mean and standard deviation in normalized units. */
    private record Member(PdfFamily family, double offset, double spread) {
    }

    /**
     * The candidate members of each family (see the class comment): the centred member of unit spread (the
     * Super Cauchy's from the quartiles, a bounded family's widened to the extremes) and, for a one-sided channel
     * with exact zeros, the rectified member whose negative mass is the zero fraction.
     */
    private List<Member> members(Normalization z, ChannelStatistics channel, DoubleUnaryOperator quantile) {
        Side side = z.side();
        double extreme = side == Side.TWO_SIDED
                ? Math.max(z.location() - channel.min(), channel.max() - z.location()) / z.scale()
                : Math.max(Math.abs(channel.min()), Math.abs(channel.max())) / z.scale();
        double zf = z.zeroFraction();
        List<Member> out = new ArrayList<>(2 * families.size());
        for (PdfFamily f : families) {
            double spread = 1;
            if (f == PdfFamily.SUPER_CAUCHY) {
                spread = superCauchySpread(quantile, side, z.location(), z.scale(), zf);
            } else if (f.bounded()) {
                // just past the extreme, so that the extreme's bin keeps some probability
                spread = Math.max(1, extreme * (1 + 1e-6) / f.supportHalfWidth(1) + 1e-9);
            }
            out.add(new Member(f, 0, spread));
            if (rectified && side.oneSided() && zf > 0 && zf < 1 && Math.abs(zf - 0.5) > 1e-6) {
                Member positivePart = rectified(f, zf, extreme, medianOfNonZero(quantile, side, z.scale(), zf));
                if (positivePart != null) {
                    out.add(positivePart);
                }
            }
        }
        return out;
    }

    /**
     * The rectified member of a one-sided channel with zero fraction {@code pi0}: the channel read as
     * {@code max(Y, 0)} with {@code Y = offset + spread Z}, so that {@code P(Y <= 0) = pi0}, i.e.
     * {@code u0 = -offset / spread = F_1^-1(pi0)}; the spread by moments from the RMS of the non-zero values (1 in
     * normalized units): {@code spread^2 T_1(u0) / F_1(-u0) = 1} ({@link FamilyTables#oneSidedSignal}). The Super
     * Cauchy's spread comes from the median of the non-zero values instead ({@code spread (F_1^-1((1 + pi0) / 2) -
     * u0)}, as for its centred member), and a bounded family is widened until its support holds the extreme.
     * Null where the family cannot produce the zero fraction with a positive part inside its tabulated support.
     */
    private static Member rectified(PdfFamily f, double pi0, double extreme, double median) {
        RealDistribution unit = FamilyTables.unit(f);
        double u0 = unit.inverseCumulativeProbability(pi0);
        if (!(u0 < Math.min(f.supportHalfWidth(1), FamilyTables.TABLE_END))) {
            // the zero point at or past the end of the (tabulated) support: no positive part left to fit (a channel
            // that is almost always zero, or a bounded family that cannot leave so few values above zero)
            return null;
        }
        double spread;
        if (f == PdfFamily.SUPER_CAUCHY) {
            spread = median / (unit.inverseCumulativeProbability((1 + pi0) / 2) - u0);
        } else {
            spread = Math.sqrt(unit.cumulativeProbability(-u0) / FamilyTables.unitTailMoment(f, u0));
        }
        if (f.bounded()) {
            double reach = f.supportHalfWidth(1) - u0;
            spread = Math.max(spread, extreme * (1 + 1e-6) / reach + 1e-9);
        }
        return spread > 0 && Double.isFinite(spread) ? new Member(f, -u0 * spread, spread) : null;
    }

    /** The median of the non-zero values of a one-sided channel, in normalized units. */
    private static double medianOfNonZero(DoubleUnaryOperator quantile, Side side, double scale, double zeroFraction) {
        double p = side == Side.NON_NEGATIVE ? zeroFraction + 0.5 * (1 - zeroFraction) : 0.5 * (1 - zeroFraction);
        return Math.abs(quantile.applyAsDouble(p)) / scale;
    }

    /**
     * The members as fits, by decreasing score (stable: the first family listed wins a tie); each family's score in
     * the fits' {@code scores} is that of its best member.
     */
    private static List<PdfFit> ranked(Normalization z, List<Member> members, ToDoubleFunction<Member> score) {
        Map<PdfFamily, Double> scores = new EnumMap<>(PdfFamily.class);
        double[] values = new double[members.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = score.applyAsDouble(members.get(i));
            scores.merge(members.get(i).family(), values[i], Math::max);
        }
        List<PdfFit> out = new ArrayList<>(values.length);
        for (int i = 0; i < values.length; i++) {
            Member m = members.get(i);
            out.add(new PdfFit(m.family(), z.side(), z.location(), z.scale(), m.spread(), m.offset(),
                    z.zeroFraction(), values[i], scores, z.kurtosis(), z.hyper()));
        }
        out.sort(Comparator.comparingDouble(PdfFit::logLikelihood).reversed()); // stable: ties keep family order
        return out;
    }

    /** Positive edges of the fixed normalized bins of {@link #fitBinned}. */
    static final double[] POSITIVE_EDGES = positiveEdges();
    /** Two-sided edges: -inf, -POSITIVE_EDGES reversed, 0, POSITIVE_EDGES, +inf. */
    private static final double[] TWO_SIDED_EDGES = twoSidedEdges();
    /** One-sided edges: 0, POSITIVE_EDGES, +inf. */
    private static final double[] ONE_SIDED_EDGES = oneSidedEdges();
    /** ln P_j of each family's unit member on the fixed bins, [family][bin], two-sided and one-sided. */
    private static final double[][] LN_P_TWO = new double[PdfFamily.values().length][];
    private static final double[][] LN_P_ONE = new double[PdfFamily.values().length][];

    static {
        for (PdfFamily f : PdfFamily.values()) {
            LN_P_TWO[f.ordinal()] = lnMasses(FamilyTables.unit(f), 1, TWO_SIDED_EDGES, false);
            LN_P_ONE[f.ordinal()] = lnMasses(FamilyTables.unit(f), 1, ONE_SIDED_EDGES, true);
        }
    }

    private static double[] positiveEdges() {
        double[] tail = {14, 16, 20, 24, 32, 48, 64, 96, 128};
        double[] e = new double[40 + 8 + 4 + tail.length];
        int k = 0;
        for (int i = 1; i <= 40; i++) {
            e[k++] = i / 10.0; // 0.1 .. 4
        }
        for (int i = 9; i <= 16; i++) {
            e[k++] = i / 2.0; // 4.5 .. 8
        }
        for (int i = 9; i <= 12; i++) {
            e[k++] = i;
        }
        System.arraycopy(tail, 0, e, k, tail.length);
        return e;
    }

    private static double[] twoSidedEdges() {
        int m = POSITIVE_EDGES.length;
        double[] e = new double[2 * m + 3];
        e[0] = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < m; i++) {
            e[1 + i] = -POSITIVE_EDGES[m - 1 - i];
        }
        e[m + 1] = 0;
        System.arraycopy(POSITIVE_EDGES, 0, e, m + 2, m);
        e[2 * m + 2] = Double.POSITIVE_INFINITY;
        return e;
    }

    private static double[] oneSidedEdges() {
        int m = POSITIVE_EDGES.length;
        double[] e = new double[m + 2];
        System.arraycopy(POSITIVE_EDGES, 0, e, 1, m);
        e[m + 1] = Double.POSITIVE_INFINITY;
        return e;
    }

    /**
     * ln P of each bin of {@code edges} (two-sided or one-sided, see above) under the member of standard deviation
     * {@code spread} of the unit d. The members are symmetric, so the survival function is evaluated once per
     * positive edge and the negative bins mirror the positive ones.
     */
    private static double[] lnMasses(RealDistribution unit, double spread, double[] edges, boolean half) {
        int k = POSITIVE_EDGES.length;
        double[] positive = new double[k + 1]; // masses of [0, e1], [e1, e2], ..., [eK, inf)
        double prev = 0.5;
        for (int j = 0; j < k; j++) {
            double z = POSITIVE_EDGES[j] / spread;
            double sj = prev == 0 ? 0 : unit.cumulativeProbability(-z);
            positive[j] = prev - sj;
            prev = sj;
        }
        positive[k] = prev;
        if (half) {
            double[] out = new double[k + 1];
            for (int j = 0; j <= k; j++) {
                out[j] = Math.log(Math.max(2 * positive[j], FLOOR));
            }
            return out;
        }
        double[] out = new double[2 * (k + 1)];
        for (int j = 0; j <= k; j++) {
            double ln = Math.log(Math.max(positive[j], FLOOR));
            out[k + 1 + j] = ln;
            out[k - j] = ln;
        }
        return out;
    }

    /**
     * The fast variant of {@link #fit} (see the class comment): same normalization, same spreads, the binned
     * log-likelihood on fixed normalized bins.
     *
     * @param counts the running sums of {@code channel.histogram()}
     */
    public PdfFit fitBinned(ChannelStatistics channel, CumulativeCounts counts) {
        return fitAllBinned(channel, counts).get(0);
    }

    /** Every candidate member fitted by {@link #fitBinned}'s statistic, the most likely first. */
    public List<PdfFit> fitAllBinned(ChannelStatistics channel, CumulativeCounts counts) {
        Normalization z = Normalization.of(channel);
        Side side = z.side();
        double[] edges = side == Side.TWO_SIDED ? TWO_SIDED_EDGES : ONE_SIDED_EDGES;
        double[] binCounts = binCounts(channel, counts, side, z.location(), z.scale(), edges);
        double total = 0;
        for (double c : binCounts) {
            total += c;
        }
        double n = total;
        return ranked(z, members(z, channel, counts::quantile), m -> {
            RealDistribution unit = FamilyTables.unit(m.family());
            double[] lnP;
            if (m.offset() != 0) {
                lnP = lnMassesRectified(unit, m.offset(), m.spread());
            } else if (m.spread() == 1) {
                lnP = (side == Side.TWO_SIDED ? LN_P_TWO : LN_P_ONE)[m.family().ordinal()];
            } else {
                lnP = lnMasses(unit, m.spread(), edges, side.oneSided());
            }
            double sum = 0;
            for (int j = 0; j < lnP.length; j++) {
                if (binCounts[j] > 0) {
                    sum += binCounts[j] * lnP[j];
                }
            }
            return n > 0 ? sum / n : 0;
        });
    }

    /**
     * ln P of each one-sided bin under the rectified member {@code offset + spread Z}, conditioned on being
     * positive; upper-tail masses are taken from the mirrored side to keep their precision.
     */
    private static double[] lnMassesRectified(RealDistribution unit, double offset, double spread) {
        double[] edges = ONE_SIDED_EDGES;
        double positive = unit.cumulativeProbability(offset / spread);
        double[] out = new double[edges.length - 1];
        for (int j = 0; j < out.length; j++) {
            double lo = (edges[j] - offset) / spread;
            double hi = (edges[j + 1] - offset) / spread;
            out[j] = Math.log(Math.max(mass(unit, lo, hi) / positive, FLOOR));
        }
        return out;
    }

    /** Counts of the normalized values in each bin of {@code edges} (exact zeros set aside when one-sided). */
    private static double[] binCounts(ChannelStatistics channel, CumulativeCounts counts, Side side, double location,
                                      double scale, double[] edges) {
        double[] below = new double[edges.length];
        for (int j = 0; j < edges.length; j++) {
            double z = edges[j];
            switch (side) {
                case TWO_SIDED -> below[j] = counts.countBelow(location + z * scale);
                case NON_NEGATIVE -> below[j] = counts.countBelow(z * scale);
                case NON_POSITIVE -> below[j] = counts.total() - counts.countBelow(-z * scale);
            }
        }
        double[] out = new double[edges.length - 1];
        for (int j = 0; j < out.length; j++) {
            out[j] = below[j + 1] - below[j];
        }
        if (side == Side.NON_NEGATIVE && channel.zeros() > 0) {
            // the zeros sit in the histogram bin [0, w), spread over it by the interpolation: take them out
            double w = counts.binWidth();
            long zeros = channel.zeros();
            double prev = 0;
            for (int j = 0; j < out.length; j++) {
                double share = Math.min(1, Math.max(0, edges[j + 1] * scale / w));
                out[j] -= zeros * (share - prev);
                prev = share;
                if (share >= 1) {
                    break;
                }
            }
        }
        // NON_POSITIVE: below[0] counts the values >= 0, i.e. the zeros, so they are already out
        return out;
    }

    /** Upper quartile of the unit-scale Super Cauchy, {@code F^-1(3/4)}. */
    private static final double SUPER_CAUCHY_Q3 = new SuperCauchyDistribution(0, 1).inverseCumulativeProbability(0.75);

    /**
     * The Super Cauchy's scale, in normalized units, from the quartiles instead of the variance: its 4th moment is
     * infinite, so the sample variance converges slowly (a few extreme values move it by several per cent even at
     * n = 200,000, and the optimal clip with it). Two-sided: {@code gamma = (q75 - q25) / (2 F^-1(3/4))}; one-sided:
     * the median of the non-zero values is the parent's upper quartile.
     */
    static double superCauchySpread(DoubleUnaryOperator quantile, Side side, double location, double scale,
            double zeroFraction) {
        double spread;
        if (side == Side.TWO_SIDED) {
            spread = (quantile.applyAsDouble(0.75) - quantile.applyAsDouble(0.25)) / (2 * SUPER_CAUCHY_Q3 * scale);
        } else {
            spread = medianOfNonZero(quantile, side, scale, zeroFraction) / SUPER_CAUCHY_Q3;
        }
        return spread > 0 && Double.isFinite(spread) ? spread : 1;
    }

    /**
     * The binned log-likelihood per value of the histogram under d (centred; see the class comment); a one-sided
     * channel under {@code offset + d} conditioned on being positive.
     */
    static double logLikelihood(Histogram h, RealDistribution d, Side side, double location, double scale,
            double offset, long zeros) {
        double positive = d.cumulativeProbability(offset);
        double sum = 0;
        long total = 0;
        int bins = h.bins();
        double w = h.binWidth();
        for (int i = 0; i < bins; i++) {
            long c = h.count(i);
            double left = h.edge(i);
            if (zeros > 0 && left == 0) {
                c -= zeros; // the exact zeros are set aside (one-sided channels)
            }
            if (c == 0) {
                continue;
            }
            double p;
            if (side == Side.TWO_SIDED) {
                p = mass(d, (left - location) / scale, (left + w - location) / scale);
            } else {
                double a = Math.abs(left) / scale;
                double b = Math.abs(left + w) / scale;
                p = mass(d, Math.min(a, b) - offset, Math.max(a, b) - offset) / positive;
            }
            sum += c * Math.log(Math.max(p, FLOOR));
            total += c;
        }
        return total == 0 ? 0 : sum / total;
    }

    /** P(lo < Z <= hi) for a distribution symmetric about 0, computed on the side where the cdf is small. */
    private static double mass(RealDistribution d, double lo, double hi) {
        if (lo > 0) {
            return d.cumulativeProbability(-lo) - d.cumulativeProbability(-hi);
        }
        return d.cumulativeProbability(hi) - d.cumulativeProbability(lo);
    }

    /**
     * How a channel is normalized before fitting: two-sided channels by mean and standard deviation; one-sided ones
     * (all values >= 0 or <= 0) at location 0, with the exact zeros set aside and scaled by the RMS of the rest,
     * their kurtosis and hyper-kurtosis taken from raw moments of the non-zero values.
     */
    private record Normalization(Side side, long n, double location, double scale, double zeroFraction,
            double kurtosis, double hyper) {

        static Normalization of(ChannelStatistics channel) {
            if (channel.count() < 2 || !(channel.variance() > 0)) {
                throw new IllegalArgumentException("cannot fit a PDF to a constant or empty channel: " + channel);
            }
            Side side = channel.min() >= 0 ? Side.NON_NEGATIVE
                    : channel.max() <= 0 ? Side.NON_POSITIVE : Side.TWO_SIDED;
            long n = channel.count();
            if (side == Side.TWO_SIDED) {
                return new Normalization(side, n, channel.mean(), channel.std(), 0, channel.kurtosis(),
                        channel.hyperKurtosis());
            }
            long nonZero = n - channel.zeros();
            double share = (double) n / nonZero;
            double r2 = channel.rawMoment(2) * share;
            return new Normalization(side, n, 0, Math.sqrt(r2), (double) channel.zeros() / n,
                    channel.rawMoment(4) * share / (r2 * r2), channel.rawMoment(6) * share / (r2 * r2 * r2));
        }
    }
}
