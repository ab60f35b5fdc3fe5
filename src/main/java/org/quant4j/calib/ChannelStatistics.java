package org.quant4j.calib;

import static org.quant4j.calib.HistogramWindows.firstNonEmpty;
import static org.quant4j.calib.HistogramWindows.freshExponent;
import static org.quant4j.calib.HistogramWindows.globalIndex;
import static org.quant4j.calib.HistogramWindows.lastNonEmpty;
import static org.quant4j.calib.HistogramWindows.remap;

/**
 * Streaming, mergeable statistics of the values of one channel: count, extremes, mean, central moments up to the
 * 6th, and a histogram whose range grows without losing counts. Memory is bounded by the number of bins,
 * independent of how many values are seen.
 *
 * <h2>Moments</h2>
 * Kept as the mean {@code mu} and the central sums {@code M_p = sum (x - mu)^p}, p = 2..6. Every call of
 * {@link #accept} first computes the exact moments of its own chunk (two tight passes over the chunk, which is in
 * cache: the mean of the chunk, then the sums of the powers of the deviations), then merges them into the running
 * totals with the pairwise formula of Pébay (2008), "Formulas for robust, one-pass parallel computation of
 * covariances and arbitrary-order statistical moments", Sandia report SAND2008-6212, eq. (3.1): with
 * {@code n = nA + nB} and {@code d = muB - muA},
 * <pre>
 *   M_p = M_p,A + M_p,B
 *       + sum_{k=1}^{p-2} C(p, k) [ (-nB/n)^k M_{p-k},A + (nA/n)^k M_{p-k},B ] d^k
 *       + (nA nB d / n)^p [ 1 / nB^(p-1) - (-1 / nA)^(p-1) ]
 *   mu  = muA + d nB / n
 * </pre>
 * {@link #merge} uses the same formula, so one pass over all values and any split into merged parts agree to
 * floating-point rounding. Over the data stream this is a single pass: no value is kept.
 *
 * <h2>Histogram</h2>
 * {@code bins} counters of width {@code w = 2^e} (a power of two); bin {@code i} covers
 * {@code [(k + i) w, (k + i + 1) w)} for an integer offset {@code k}. The grid is anchored at zero: every edge is
 * an integer multiple of {@code w}, and the window always contains 0 (a clip range always does). When a value
 * falls outside the window, the window is laid out again: the exponent {@code e} grows by one as often as needed
 * (each step merges the adjacent bin pairs {@code [2j w, (2j+1) w)} and {@code [(2j+1) w, (2j+2) w)} into one bin
 * of width {@code 2w}: exact, since the old edges are a superset of the new ones), until the occupied bins plus
 * the new values fit; the window is then centred on the occupied span (flush against zero for one-signed data, so
 * a post-ReLU channel uses all bins for {@code [0, max]}). No count is ever lost or moved across a value it was
 * not below/above, and after a layout the data spans more than half of the bins (the best power-of-two
 * resolution). Two observers merge exactly the same way: both are brought to the coarser width (which nests), and
 * to a common window.
 *
 * <p>Non-finite values (NaN, infinities) are skipped and counted by {@link #skipped()}; they take part in neither
 * the count, the moments, the extremes nor the histogram.
 *
 * <p>Not thread-safe: use one instance per thread and {@link #merge} them. Serializable, so that statistics made
 * on several machines can be sent to one and merged there.
 */
public final class ChannelStatistics implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    /** Default number of histogram bins. */
    public static final int DEFAULT_BINS = 2048;

    /** Highest central moment kept. */
    public static final int MAX_ORDER = 6;

    private static final double[][] BINOMIAL = binomials(MAX_ORDER);

    private long count;
    private long skipped;
    private long zeros;
    private double min = Double.POSITIVE_INFINITY;
    private double max = Double.NEGATIVE_INFINITY;
    private double mean;
    /** Central sums M_p = sum (x - mean)^p at index p (0 and 1 unused). */
    private final double[] central = new double[MAX_ORDER + 1];
    /** Scratch for the chunk moments and for the merge (no allocation per accept). */
    private final double[] chunk = new double[MAX_ORDER + 1];
    private final double[] merged = new double[MAX_ORDER + 1];

    /** Counts in {@code int}: half the memory of {@code long} (every channel of every point keeps one). */
    private final int[] bins;
    /** Histogram exponent: bin width is 2^exponent; meaningful when {@code laidOut}. */
    private int exponent;
    /** Global index of bin 0. */
    private long offset;
    private boolean laidOut;

    /** Statistics with {@value #DEFAULT_BINS} histogram bins. */
    public ChannelStatistics() {
        this(DEFAULT_BINS);
    }

    /** Statistics with the given number of histogram bins (at least 16). */
    public ChannelStatistics(int bins) {
        if (bins < 16) {
            throw new IllegalArgumentException("at least 16 bins, got " + bins);
        }
        this.bins = new int[bins];
    }

    /** Adds {@code values[from..to)}. */
    public void accept(float[] values, int from, int to) {
        if (to <= from) {
            return;
        }
        // Pass 1: extremes and sum.
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        double sum = 0;
        for (int i = from; i < to; i++) {
            float v = values[i];
            sum += v;
            if (v < lo) {
                lo = v;
            }
            if (v > hi) {
                hi = v;
            }
        }
        if (!Double.isFinite(sum)) {
            acceptFiltered(values, from, to);
            return;
        }
        int n = to - from;
        requireRoom(n);
        double mu = sum / n;
        ensureCovers(lo, hi);
        // Pass 2: central sums of the chunk and the histogram.
        double invW = Math.scalb(1.0, -exponent);
        double k = offset; // exact: |offset| < 2^53 by construction
        int[] h = bins;
        double m2 = 0;
        double m3 = 0;
        double m4 = 0;
        double m5 = 0;
        double m6 = 0;
        int zeroCount = 0;
        for (int i = from; i < to; i++) {
            float v = values[i];
            double d = v - mu;
            double d2 = d * d;
            double d3 = d2 * d;
            m2 += d2;
            m3 += d3;
            m4 += d2 * d2;
            m5 += d2 * d3;
            m6 += d3 * d3;
            zeroCount += v == 0 ? 1 : 0;
            h[(int) (Math.floor(v * invW) - k)]++;
        }
        double[] c = chunk;
        c[2] = m2;
        c[3] = m3;
        c[4] = m4;
        c[5] = m5;
        c[6] = m6;
        combineMoments(n, mu, c);
        zeros += zeroCount;
        if (lo < min) {
            min = lo;
        }
        if (hi > max) {
            max = hi;
        }
    }

    /**
     * The most values one channel's statistics count: its histogram counts in {@code int}. (A 512 x 512 feature map
     * reaches it after 8,191 examples; calibration reads 32 batches by default.)
     */
    public static final long MAX_VALUES = Integer.MAX_VALUE;

    private void requireRoom(long more) {
        if (count + more > MAX_VALUES) {
            throw new IllegalStateException("a channel's statistics count at most " + MAX_VALUES + " values; "
                    + count + " seen, " + more + " more given: calibrate on fewer batches (calibrationBatches)");
        }
    }

    /** Adds all of {@code values}. */
    public void accept(float[] values) {
        accept(values, 0, values.length);
    }

    /** Slow path for chunks with non-finite values: accept the finite runs. */
    private void acceptFiltered(float[] values, int from, int to) {
        int start = from;
        for (int i = from; i < to; i++) {
            if (!Float.isFinite(values[i])) {
                accept(values, start, i);
                skipped++;
                start = i + 1;
            }
        }
        accept(values, start, to);
    }

    /** Adds everything {@code other} has seen; {@code other} is not changed. */
    public void merge(ChannelStatistics other) {
        if (other == this) {
            throw new IllegalArgumentException("cannot merge an observer into itself");
        }
        skipped += other.skipped;
        zeros += other.zeros;
        if (other.count == 0) {
            return;
        }
        requireRoom(other.count);
        mergeHistogram(other);
        System.arraycopy(other.central, 0, chunk, 0, chunk.length);
        combineMoments(other.count, other.mean, chunk);
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
    }

    /** An independent copy: the same counts, moments, extremes and histogram layout. */
    public ChannelStatistics copy() {
        ChannelStatistics copy = new ChannelStatistics(bins.length);
        copy.merge(this);
        return copy;
    }

    /** Pébay's pairwise update: this (A) absorbs B = (nB, muB, mB[2..6]); sets count and mean too. */
    private void combineMoments(long nB, double muB, double[] mB) {
        long nA = count;
        if (nA == 0) {
            count = nB;
            mean = muB;
            System.arraycopy(mB, 0, central, 0, central.length);
            return;
        }
        double n = (double) nA + nB;
        double na = nA;
        double nb = nB;
        double d = muB - mean;
        double[] mA = central;
        double[] out = merged;
        double ab = -nb / n;
        double ba = na / n;
        for (int p = 2; p <= MAX_ORDER; p++) {
            double s = mA[p] + mB[p];
            double dk = 1;
            double abk = 1;
            double bak = 1;
            for (int k = 1; k <= p - 2; k++) {
                dk *= d;
                abk *= ab;
                bak *= ba;
                s += BINOMIAL[p][k] * (abk * mA[p - k] + bak * mB[p - k]) * dk;
            }
            double t = na * nb * d / n;
            s += Math.pow(t, p) * (1.0 / Math.pow(nb, p - 1) - Math.pow(-1.0 / na, p - 1));
            out[p] = s;
        }
        System.arraycopy(out, 2, central, 2, MAX_ORDER - 1);
        mean += d * nb / n;
        count = nA + nB;
    }

    // ---------------------------------------------------------------------------------------------- histogram

    /** Makes the window cover [lo, hi] (finite) and 0, laying it out again if needed. */
    private void ensureCovers(double lo, double hi) {
        lo = Math.min(lo, 0.0);
        hi = Math.max(hi, 0.0);
        if (laidOut) {
            // Coarsen first when the values are so large that their bin indices at the current width would pass
            // 2^52 (a channel laid out on zeros has the finest width: 2^-60).
            double magnitude = Math.max(-lo, hi);
            int e = magnitude > 0 ? Math.max(exponent, Math.getExponent(magnitude) - 52 + 2) : exponent;
            long gLo = globalIndex(lo, e);
            long gHi = globalIndex(hi, e);
            if (e == exponent && gLo >= offset && gHi < offset + bins.length) {
                return;
            }
            int first = firstNonEmpty(bins);
            int shift = e - exponent;
            long occLo = first < 0 ? gLo : Math.min(gLo, (offset + first) >> shift);
            long occHi = first < 0 ? gHi : Math.max(gHi, (offset + lastNonEmpty(bins)) >> shift);
            relayout(occLo, occHi, e, lo >= 0 && min >= 0, hi <= 0 && max <= 0);
        } else {
            int e = freshExponent(lo, hi, bins.length);
            long gLo = globalIndex(lo, e);
            long gHi = globalIndex(hi, e);
            laidOut = true;
            exponent = e;
            offset = 0;
            relayout(gLo, gHi, e, lo >= 0, hi <= 0);
        }
    }

    /**
     * Whether {@link #acceptSummary} takes {@code chunk}: its histogram is laid out as a fresh one of this size
     * would be for its extremes (so that every later layout of this histogram nests it), and counts every value.
     */
    public boolean takes(ChunkSummary chunk) {
        return chunk.fits(bins.length);
    }

    /**
     * Adds a chunk summarized elsewhere (the observer ops of {@code graph.ObserverPass}): the same as {@link #accept}
     * of the chunk's values, the histogram exactly (the window is laid out for the chunk's extremes as
     * {@code accept} lays it out, then the chunk's counts, binned at a width that divides the window's, are added;
     * see {@link #takes}), the moments merged by the same pairwise formula from the chunk's own.
     *
     * @throws IllegalArgumentException when {@link #takes} refuses the chunk
     */
    public void acceptSummary(ChunkSummary chunk) {
        if (!takes(chunk)) {
            throw new IllegalArgumentException("chunk summary not laid out for " + bins.length + " bins: " + chunk);
        }
        if (chunk.count() == 0) {
            return;
        }
        requireRoom(chunk.count());
        ensureCovers(chunk.min(), chunk.max());
        remap(chunk.counts(), chunk.offset(), chunk.exponent(), bins, offset, exponent);
        double[] c = this.chunk;
        for (int p = 2; p <= MAX_ORDER; p++) {
            c[p] = chunk.centralSum(p);
        }
        combineMoments(chunk.count(), chunk.mean(), c);
        zeros += chunk.zeros();
        if (chunk.min() < min) {
            min = chunk.min();
        }
        if (chunk.max() > max) {
            max = chunk.max();
        }
    }

    /**
     * Lays the window out again so that it covers the global bins [gLo, gHi] given at exponent {@code e}
     * (which is at least the current exponent), coarsening as needed; moves the counts over.
     */
    private void relayout(long gLo, long gHi, int e, boolean nonNegative, boolean nonPositive) {
        while (gHi - gLo + 1 > bins.length) {
            e++;
            gLo >>= 1; // floor division by 2, also for negative indices
            gHi >>= 1;
        }
        long slack = bins.length - (gHi - gLo + 1);
        long k = gLo - slack / 2;
        if (nonNegative) {
            k = gLo; // flush against zero: the window never needs room below 0
        } else if (nonPositive) {
            k = gHi + 1 - bins.length;
        }
        int[] fresh = new int[bins.length];
        remap(bins, offset, exponent, fresh, k, e);
        System.arraycopy(fresh, 0, bins, 0, bins.length);
        offset = k;
        exponent = e;
    }

    private void mergeHistogram(ChannelStatistics other) {
        if (other.firstNonEmptyBin() < 0) {
            return;
        }
        if (!laidOut) {
            laidOut = true;
            exponent = other.exponent;
            offset = other.offset;
            remap(other.bins, other.offset, other.exponent, bins, offset, exponent);
            return;
        }
        int e = Math.max(exponent, other.exponent);
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        for (ChannelStatistics s : new ChannelStatistics[] {this, other}) {
            int f = firstNonEmpty(s.bins);
            if (f >= 0) {
                lo = Math.min(lo, (s.offset + f) >> (e - s.exponent));
                hi = Math.max(hi, (s.offset + lastNonEmpty(s.bins)) >> (e - s.exponent));
            }
        }
        lo = Math.min(lo, 0);
        hi = Math.max(hi, 0);
        boolean nonNegative = min >= 0 && other.min >= 0;
        boolean nonPositive = max <= 0 && other.max <= 0;
        relayout(lo, hi, e, nonNegative, nonPositive);
        remap(other.bins, other.offset, other.exponent, bins, offset, exponent);
    }

    private int firstNonEmptyBin() {
        return firstNonEmpty(bins);
    }

    private static double[][] binomials(int n) {
        double[][] c = new double[n + 1][n + 1];
        for (int i = 0; i <= n; i++) {
            c[i][0] = 1;
            for (int j = 1; j <= i; j++) {
                c[i][j] = c[i - 1][j - 1] + (j <= i - 1 ? c[i - 1][j] : 0);
            }
        }
        return c;
    }

    // ---------------------------------------------------------------------------------------------- accessors

    /** Number of finite values seen. */
    public long count() {
        return count;
    }

    /** Number of values exactly 0 (for a post-ReLU channel: the clipped negatives). */
    public long zeros() {
        return zeros;
    }

    /** Number of non-finite values skipped. */
    public long skipped() {
        return skipped;
    }

    /** Smallest value seen (+infinity when none). */
    public double min() {
        return min;
    }

    /** Largest value seen (-infinity when none). */
    public double max() {
        return max;
    }

    /** Mean; NaN when empty. */
    public double mean() {
        return count == 0 ? Double.NaN : mean;
    }

    /** The central sum {@code M_p = sum (x - mean)^p}, p = 2..6. */
    public double centralSum(int p) {
        if (p < 2 || p > MAX_ORDER) {
            throw new IllegalArgumentException("order must be in 2.." + MAX_ORDER + ", got " + p);
        }
        return central[p];
    }

    /** The population central moment {@code m_p = M_p / n}. */
    public double centralMoment(int p) {
        return count == 0 ? Double.NaN : centralSum(p) / count;
    }

    /** Population variance {@code m_2}. */
    public double variance() {
        return centralMoment(2);
    }

    /** Population standard deviation. */
    public double std() {
        return Math.sqrt(variance());
    }

    /**
     * The standardized moment {@code m_p / m_2^(p/2)}, p = 2..6 (1 for p = 2); NaN when the variance is 0.
     */
    public double standardizedMoment(int p) {
        double m2 = centralMoment(2);
        if (!(m2 > 0)) {
            return Double.NaN;
        }
        return centralMoment(p) / Math.pow(m2, p / 2.0);
    }

    /** Skewness {@code m_3 / m_2^1.5}. */
    public double skewness() {
        return standardizedMoment(3);
    }

    /** Kurtosis {@code m_4 / m_2^2} (not the excess: 3 for a Gaussian). */
    public double kurtosis() {
        return standardizedMoment(4);
    }

    /** Hyper-skewness, the standardized 5th moment {@code m_5 / m_2^2.5}. */
    public double hyperSkewness() {
        return standardizedMoment(5);
    }

    /** Hyper-kurtosis, the standardized 6th moment {@code m_6 / m_2^3} (15 for a Gaussian). */
    public double hyperKurtosis() {
        return standardizedMoment(6);
    }

    /**
     * The raw moment about zero {@code E[x^p]}, p = 1..6, from the mean and the central moments
     * ({@code E[x^p] = sum_k C(p, k) m_k mean^(p-k)} with {@code m_0 = 1, m_1 = 0}).
     */
    public double rawMoment(int p) {
        if (p < 1 || p > MAX_ORDER) {
            throw new IllegalArgumentException("order must be in 1.." + MAX_ORDER + ", got " + p);
        }
        double mu = mean();
        double s = Math.pow(mu, p);
        for (int k = 2; k <= p; k++) {
            s += BINOMIAL[p][k] * centralMoment(k) * Math.pow(mu, p - k);
        }
        return s;
    }

    /** Number of histogram bins (constant). */
    public int histogramBins() {
        return bins.length;
    }

    /** A snapshot of the histogram; an empty one (all zero, width 1, from 0) before any value. */
    public Histogram histogram() {
        if (!laidOut) {
            return new Histogram(0.0, 1.0, new long[bins.length]);
        }
        return new Histogram(Math.scalb((double) offset, exponent), Math.scalb(1.0, exponent), wide(bins));
    }

    /** The running sums of the histogram, without taking a {@link #histogram()} snapshot first. */
    public CumulativeCounts cumulativeCounts() {
        if (!laidOut) {
            return new CumulativeCounts(0.0, 1.0, new long[bins.length]);
        }
        return new CumulativeCounts(Math.scalb((double) offset, exponent), Math.scalb(1.0, exponent), wide(bins));
    }

    private static long[] wide(int[] counts) {
        long[] w = new long[counts.length];
        for (int i = 0; i < counts.length; i++) {
            w[i] = counts[i];
        }
        return w;
    }

    @Override
    public String toString() {
        return "ChannelStatistics[n=" + count + ", min=" + min + ", max=" + max + ", mean=" + mean()
                + ", std=" + std() + ", kurtosis=" + kurtosis() + ", binWidth="
                + (laidOut ? Math.scalb(1.0, exponent) : Double.NaN) + "]";
    }

    /** Bytes of the fields of this class: 3 longs, 3 doubles, 2 references, 1 int, 1 boolean (plus header). */
    private static final long FIXED_BYTES = 16 + 3 * 8 + 3 * 8 + 2 * 8 + 4 + 1 + 3 * 8;

    /**
     * The memory this object keeps, computed from its array lengths: the object, the three moment arrays and the
     * histogram (16-byte array headers, 8-byte references assumed). It depends on the number of bins only, never on
     * how many values were seen.
     */
    public long retainedBytes() {
        return FIXED_BYTES + 3 * (16 + 8L * central.length) + 16 + 4L * bins.length;
    }

    /** For tests: the histogram array length, to check memory does not grow. */
    int histogramCapacity() {
        return bins.length;
    }

}
