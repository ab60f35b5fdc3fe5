package org.quant4j.calib;

import java.util.Arrays;

/**
 * An immutable snapshot of a {@link ChannelStatistics} histogram: {@code counts.length} bins of equal width,
 * bin {@code i} covering {@code [low + i * binWidth, low + (i + 1) * binWidth)}.
 *
 * <p>Bin edges are integer multiples of {@code binWidth}, and {@code binWidth} is a power of two, so zero is
 * always a bin edge and the histogram of {@code |x|} can be folded exactly ({@link #foldMagnitudes()}).
 * Within a bin, values are taken as uniformly spread (the usual histogram-observer assumption).
 *
 * @param low      left edge of bin 0
 * @param binWidth width of every bin, a power of two
 * @param counts   the counts (the record keeps its own copy)
 */
public record Histogram(double low, double binWidth, long[] counts) {

    public Histogram {
        counts = counts.clone();
        if (!(binWidth > 0)) {
            throw new IllegalArgumentException("bin width must be positive, got " + binWidth);
        }
    }

    /** A copy of the counts. */
    @Override
    public long[] counts() {
        return counts.clone();
    }

    /** Equal when the layout and every count are equal. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Histogram h && h.low == low && h.binWidth == binWidth && Arrays.equals(h.counts, counts);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Double.hashCode(low) + Double.hashCode(binWidth)) + Arrays.hashCode(counts);
    }

    @Override
    public String toString() {
        return "Histogram[low=" + low + ", binWidth=" + binWidth + ", bins=" + counts.length + ", total=" + total() + "]";
    }

    /** Number of bins. */
    public int bins() {
        return counts.length;
    }

    /** Count of bin {@code i}. */
    public long count(int i) {
        return counts[i];
    }

    /** Sum of all counts. */
    public long total() {
        return java.util.Arrays.stream(counts).sum();
    }

    /** Left edge of bin {@code i} ({@code i == bins()} gives the right edge of the last bin). */
    public double edge(int i) {
        return low + i * binWidth;
    }

    /** Centre of bin {@code i}. */
    public double center(int i) {
        return low + (i + 0.5) * binWidth;
    }

    /** Right edge of the last bin. */
    public double high() {
        return edge(counts.length);
    }

    /** Index of the first non-empty bin, or -1 when empty. */
    public int firstNonEmpty() {
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] != 0) {
                return i;
            }
        }
        return -1;
    }

    /** Index of the last non-empty bin, or -1 when empty. */
    public int lastNonEmpty() {
        for (int i = counts.length - 1; i >= 0; i--) {
            if (counts[i] != 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The empirical cdf at {@code x}: the fraction of values below {@code x}, linear inside a bin.
     */
    public double cdf(double x) {
        long total = total();
        if (total == 0) {
            return Double.NaN;
        }
        double pos = (x - low) / binWidth;
        if (pos <= 0) {
            return 0;
        }
        if (pos >= counts.length) {
            return 1;
        }
        int i = (int) pos;
        double below = 0;
        for (int j = 0; j < i; j++) {
            below += counts[j];
        }
        below += (pos - i) * counts[i];
        return below / total;
    }

    /**
     * The {@code p}-quantile, {@code 0 <= p <= 1}: the x where {@link #cdf} reaches p (linear inside a bin).
     * The result lies inside the non-empty bins.
     */
    public double quantile(double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("p must be in [0, 1], got " + p);
        }
        long total = total();
        if (total == 0) {
            return Double.NaN;
        }
        double target = p * total;
        double cum = 0;
        int last = lastNonEmpty();
        for (int i = firstNonEmpty(); i <= last; i++) {
            long c = counts[i];
            if (c > 0 && cum + c >= target) {
                double frac = Math.max(0, (target - cum) / c);
                return edge(i) + frac * binWidth;
            }
            cum += c;
        }
        return edge(last + 1);
    }

    /**
     * The histogram of {@code |x|}: bin {@code j} covers {@code [j * binWidth, (j + 1) * binWidth)} and holds the
     * counts of the bins {@code [j w, (j+1) w)} and {@code [-(j+1) w, -j w)} of this histogram. Exact, because
     * zero is a bin edge. Its length reaches the largest magnitude seen (trailing empty bins dropped).
     */
    public Histogram foldMagnitudes() {
        long k = Math.round(low / binWidth); // exact: low is an integer multiple of the width
        long maxAbsIndex = Math.max(Math.abs(k), Math.abs(k + counts.length));
        long[] folded = new long[(int) Math.min(Integer.MAX_VALUE - 8, maxAbsIndex)];
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                continue;
            }
            long g = k + i; // global bin index: covers [g w, (g+1) w)
            long j = g >= 0 ? g : -g - 1;
            folded[(int) j] += counts[i];
        }
        int n = folded.length;
        while (n > 1 && folded[n - 1] == 0) {
            n--;
        }
        return new Histogram(0.0, binWidth, Arrays.copyOf(folded, Math.max(n, 1)));
    }
}
