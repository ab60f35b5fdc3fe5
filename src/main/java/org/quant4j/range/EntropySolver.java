package org.quant4j.range;

import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.Histogram;

/**
 * The TensorRT entropy calibration (name "entropy"): the clip threshold whose quantized distribution loses the
 * least information, by Kullback-Leibler divergence over the histogram (Migacz 2017, "8-bit inference with
 * TensorRT"; the same algorithm as MXNet's {@code _get_optimal_threshold}).
 *
 * <p>On the histogram of {@code |x|} (signed grid, folded exactly at 0) or of {@code x >= 0} (unsigned grid),
 * with L target levels ({@code 2^(M-1)} signed, as TensorRT's 128 for int8; {@code 2^M} unsigned), for every
 * candidate count of kept bins {@code i = L .. nbins}:
 * <ol>
 *   <li>reference P: the first i bins, with the counts beyond folded into bin i-1 (clipping saturates them);</li>
 *   <li>candidate Q: the first i bins merged into L groups, each group's total spread evenly over the group's
 *       non-empty bins (empty bins stay empty);</li>
 *   <li>both normalized and smoothed (empty bins get eps = 1e-4, taken from the others), then
 *       {@code KL(P || Q) = sum P_k ln(P_k / Q_k)}.</li>
 * </ol>
 * The threshold is the right edge of the i with the least divergence. A histogram with fewer occupied bins than
 * L gives the observed extreme.
 */
public final class EntropySolver implements RangeSolver {

    private static final double EPS = 1e-4;

    @Override
    public String name() {
        return "entropy";
    }

    @Override
    public ClipRange solve(ChannelStatistics channel, QuantGrid grid) {
        Histogram h = channel.histogram();
        long[] counts;
        double width = h.binWidth();
        if (grid.signed()) {
            counts = h.foldMagnitudes().counts();
        } else {
            int zero = (int) Math.round(-h.low() / width); // index of the bin [0, w), when inside
            int n = Math.max(0, h.bins() - Math.max(zero, 0));
            counts = new long[Math.max(n, 1)];
            for (int i = 0; i < n; i++) {
                counts[i] = h.count(i + Math.max(zero, 0));
            }
        }
        int nbins = counts.length;
        while (nbins > 1 && counts[nbins - 1] == 0) {
            nbins--;
        }
        double observed = grid.signed() ? Math.max(Math.abs(channel.min()), Math.abs(channel.max()))
                : Math.max(0, channel.max());
        int levels = grid.qmax() + 1; // 2^(M-1) signed, 2^M unsigned
        if (nbins <= levels) {
            return FittedPdfRangeSolver.toGrid(ClipRange.covering(-observed, observed), grid);
        }
        double threshold = Math.min(bestBins(counts, nbins, levels) * width, observed);
        return grid.signed() ? ClipRange.symmetric(threshold) : new ClipRange(0, threshold);
    }

    /** The number of kept bins with the least KL divergence. */
    static int bestBins(long[] hist, int nbins, int levels) {
        double[] p = new double[nbins];
        double[] q = new double[nbins];
        long beyond = 0;
        for (int k = levels; k < nbins; k++) {
            beyond += hist[k];
        }
        int best = nbins;
        double bestKl = Double.POSITIVE_INFINITY;
        for (int i = levels; i <= nbins; i++) {
            // reference: first i bins, the rest folded into the last one
            for (int k = 0; k < i; k++) {
                p[k] = hist[k];
            }
            p[i - 1] += beyond;
            // candidate: i bins merged into `levels` groups, expanded over the non-empty bins
            double merged = (double) i / levels;
            for (int j = 0; j < levels; j++) {
                int start = (int) Math.floor(j * merged);
                int stop = j == levels - 1 ? i : (int) Math.floor((j + 1) * merged);
                double total = 0;
                int nonEmpty = 0;
                for (int k = start; k < stop; k++) {
                    total += hist[k];
                    if (hist[k] != 0) {
                        nonEmpty++;
                    }
                }
                for (int k = start; k < stop; k++) {
                    q[k] = hist[k] != 0 ? total / nonEmpty : 0;
                }
            }
            double kl = divergence(p, q, i);
            if (kl < bestKl) {
                bestKl = kl;
                best = i;
            }
            if (i < nbins) {
                beyond -= hist[i];
            }
        }
        return best;
    }

    /** KL(P || Q) over the first n entries after normalizing and eps-smoothing both (MXNet's scheme). */
    private static double divergence(double[] p, double[] q, int n) {
        smooth(p, n);
        smooth(q, n);
        double kl = 0;
        for (int k = 0; k < n; k++) {
            if (p[k] > 0) {
                kl += p[k] * Math.log(p[k] / q[k]);
            }
        }
        return kl;
    }

    private static void smooth(double[] d, int n) {
        double sum = 0;
        int zeros = 0;
        for (int k = 0; k < n; k++) {
            sum += d[k];
            if (d[k] == 0) {
                zeros++;
            }
        }
        int nonZeros = n - zeros;
        if (sum == 0 || nonZeros == 0) {
            for (int k = 0; k < n; k++) {
                d[k] = 1.0 / n;
            }
            return;
        }
        double eps1 = EPS * zeros / nonZeros;
        for (int k = 0; k < n; k++) {
            double v = d[k] / sum;
            d[k] = v == 0 ? EPS : Math.max(v - eps1, EPS * 1e-3);
        }
    }
}
