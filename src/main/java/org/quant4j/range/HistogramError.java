package org.quant4j.range;

import org.quant4j.calib.Histogram;

/**
 * The expected squared quantization error of a histogram's values at any clip, in a few operations per grid level:
 * the same quantity as {@link MseSolver#expectedError} (values uniform inside each histogram bin; the clamped
 * uniform quantizer of the grid), from running sums over the bins instead of a pass over every bin.
 *
 * <p>Over bins lying wholly inside the cell of level k (the values that round to {@code q = k s}), with bin
 * midpoints {@code m_i} and width w,
 * <pre>
 *   sum_i c_i E[(x - q)^2 | bin i] = S2 - 2 q S1 + q^2 S0 + (w^2 / 12) S0,   S0 = sum c_i, S1 = sum c_i m_i,
 *                                                                        S2 = sum c_i m_i^2
 * </pre>
 * each S a difference of two running sums; the at most two bins a cell's edges cut are integrated exactly. The end
 * cells reach to infinity (clipping). Cost: one pass over the bins when built, then O(levels that hold values) per
 * clip: 16 at 4 bits, at most 256 at 8, against 2,048 bins.
 */
public final class HistogramError {

    private final Histogram histogram;
    private final int first;
    private final int last;
    private final double[] count;
    private final double[] sum;
    private final double[] squares;
    private final double total;

    /** Running sums of the histogram's counts, and of counts times bin midpoints and their squares. */
    public HistogramError(Histogram histogram) {
        this.histogram = histogram;
        this.first = histogram.firstNonEmpty();
        this.last = histogram.lastNonEmpty();
        int n = Math.max(0, last - first + 1);
        count = new double[n + 1];
        sum = new double[n + 1];
        squares = new double[n + 1];
        for (int j = 0; j < n; j++) {
            int i = first + j;
            double c = histogram.count(i);
            double m = histogram.center(i);
            count[j + 1] = count[j] + c;
            sum[j + 1] = sum[j] + c * m;
            squares[j + 1] = squares[j] + c * m * m;
        }
        total = count[n];
    }

    /** The expected squared error per value of quantizing the histogram with clip {@code a} on {@code grid}. */
    public double at(double a, QuantGrid grid) {
        if (total == 0) {
            return 0;
        }
        double s = a / grid.qmax();
        double w = histogram.binWidth();
        if (!(s > 0)) {
            return (squares[count.length - 1] + w * w / 12 * total) / total; // everything rounds to 0
        }
        double lo = histogram.edge(first);
        double hi = histogram.edge(last) + w;
        int kLo = (int) Math.max(grid.qmin(), Math.min(grid.qmax(), Math.rint(lo / s)));
        int kHi = (int) Math.max(grid.qmin(), Math.min(grid.qmax(), Math.rint(hi / s)));
        double error = 0;
        for (int k = kLo; k <= kHi; k++) {
            double from = k == grid.qmin() ? lo : Math.max(lo, (k - 0.5) * s);
            double to = k == grid.qmax() ? hi : Math.min(hi, (k + 0.5) * s);
            if (to > from) {
                error += cell(from, to, k * s, w);
            }
        }
        return error / total;
    }

    /** The error of the values in [from, to) (inside the data's bins), all quantized to q. */
    private double cell(double from, double to, double q, double w) {
        int jFrom = bin(from, w);
        int jTo = bin(to, w);
        if (jFrom == jTo) {
            return partial(jFrom, from, to, q, w);
        }
        double e = partial(jFrom, from, histogram.edge(first + jFrom) + w, q, w);
        int a = jFrom + 1;
        int b = jTo; // whole bins a .. b-1
        if (b > a) {
            double s0 = count[b] - count[a];
            double s1 = sum[b] - sum[a];
            double s2 = squares[b] - squares[a];
            e += Math.max(0, s2 - 2 * q * s1 + q * q * s0) + w * w / 12 * s0;
        }
        if (jTo < count.length - 1) {
            e += partial(jTo, histogram.edge(first + jTo), to, q, w);
        }
        return e;
    }

    /** The index (from {@code first}) of the bin holding x, within 0 .. bins. */
    private int bin(double x, double w) {
        int j = (int) Math.floor((x - histogram.edge(first)) / w);
        return Math.max(0, Math.min(count.length - 1, j));
    }

    /** {@code c / w * integral_u^v (x - q)^2 dx} of bin j's share of [u, v). */
    private double partial(int j, double u, double v, double q, double w) {
        if (j >= count.length - 1 || v <= u) {
            return 0;
        }
        double c = count[j + 1] - count[j];
        if (c == 0) {
            return 0;
        }
        double l = histogram.edge(first + j);
        u = Math.max(u, l);
        v = Math.min(v, l + w);
        if (v <= u) {
            return 0;
        }
        return c / w * (Math.pow(v - q, 3) - Math.pow(u - q, 3)) / 3;
    }
}
