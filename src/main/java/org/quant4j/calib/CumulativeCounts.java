package org.quant4j.calib;

/**
 * The running sums of a {@link Histogram}'s counts, for many cdf and quantile look-ups on one histogram: each is
 * a binary search or an index instead of a pass over the bins. Results are those of {@link Histogram#cdf} and
 * {@link Histogram#quantile} (values uniform inside a bin), as counts rather than fractions for the cdf.
 */
public final class CumulativeCounts {

    private final double low;
    private final double width;
    /** below[i] = sum of counts[0 .. i). */
    private final long[] below;
    private final int first;
    private final int last;

    public CumulativeCounts(Histogram h) {
        this(h.low(), h.binWidth(), h.counts());
    }

    /** From the layout and counts of a histogram (not kept). */
    CumulativeCounts(double low, double width, long[] counts) {
        this.low = low;
        this.width = width;
        int n = counts.length;
        below = new long[n + 1];
        int f = -1;
        int l = -1;
        for (int i = 0; i < n; i++) {
            long c = counts[i];
            below[i + 1] = below[i] + c;
            if (c != 0) {
                if (f < 0) {
                    f = i;
                }
                l = i;
            }
        }
        first = f;
        last = l;
    }

    /** Width of a histogram bin. */
    public double binWidth() {
        return width;
    }

    /** Sum of all counts. */
    public long total() {
        return below[below.length - 1];
    }

    /** The number of values below {@code x} (linear inside a bin): {@code total() * Histogram.cdf(x)}. */
    public double countBelow(double x) {
        double pos = (x - low) / width;
        if (!(pos > 0)) {
            return 0;
        }
        int n = below.length - 1;
        if (pos >= n) {
            return below[n];
        }
        int i = (int) pos;
        return below[i] + (pos - i) * (below[i + 1] - below[i]);
    }

    /** The {@code p}-quantile, equal to {@link Histogram#quantile}; NaN when empty. */
    public double quantile(double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("p must be in [0, 1], got " + p);
        }
        if (first < 0) {
            return Double.NaN;
        }
        double target = p * total();
        // smallest bin i >= first with below[i + 1] >= target
        int lo = first;
        int hi = last;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (below[mid + 1] >= target) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        long c = below[lo + 1] - below[lo];
        if (below[lo + 1] < target || c == 0) {
            return low + (last + 1) * width;
        }
        double frac = Math.max(0, (target - below[lo]) / c);
        return low + lo * width + frac * width;
    }
}
