package org.quant4j.calib;

import java.util.Arrays;

/**
 * What {@link ChannelStatistics#accept} takes from one chunk of a channel's values, computed elsewhere (by the
 * observer ops of {@code graph.ObserverPass}, in the graph): the count, the extremes, the mean, the central sums
 * {@code M_p = sum (x - mean)^p} for p = 2..6, the number of zeros, and a histogram of {@code counts.length} bins of
 * width {@code 2^exponent} whose bin {@code i} covers {@code [(offset + i) 2^exponent, (offset + i + 1) 2^exponent)}.
 * The arrays are not copied (a summary is made to be merged once).
 *
 * @param centralSums {@code M_2 .. M_6}, five values
 */
public record ChunkSummary(long count, double min, double max, double mean, double[] centralSums, long zeros,
        int exponent, long offset, long[] counts) {

    public ChunkSummary {
        if (centralSums.length != ChannelStatistics.MAX_ORDER - 1) {
            throw new IllegalArgumentException("central sums M_2..M_" + ChannelStatistics.MAX_ORDER + " expected, got "
                    + centralSums.length + " values");
        }
    }

    /** {@code M_p}, p = 2..6. */
    public double centralSum(int p) {
        return centralSums[p - 2];
    }

    /** The sum of the histogram's counts. */
    public long total() {
        return java.util.Arrays.stream(counts).sum();
    }

    /**
     * Whether statistics of {@code bins} bins take this chunk ({@link ChannelStatistics#takes}): it is finite, and
     * its histogram is laid out as a fresh one of {@code bins} bins would be for its extremes (so that every later
     * layout of the running histogram nests it) and counts every value.
     */
    public boolean fits(int bins) {
        if (count() == 0) {
            return true;
        }
        if (!Double.isFinite(min()) || !Double.isFinite(max()) || !Double.isFinite(mean())
                || counts().length != bins) {
            return false;
        }
        for (int p = 2; p <= ChannelStatistics.MAX_ORDER; p++) {
            if (!Double.isFinite(centralSum(p))) {
                return false;
            }
        }
        double lo = Math.min(min(), 0.0);
        double hi = Math.max(max(), 0.0);
        return exponent == HistogramWindows.freshExponent(lo, hi, bins)
                && offset == HistogramWindows.globalIndex(lo, exponent) && total() == count;
    }

    @Override
    public String toString() {
        return "ChunkSummary[n=" + count + ", min=" + min + ", max=" + max + ", mean=" + mean + ", M=" + Arrays.toString(
                centralSums) + ", zeros=" + zeros + ", exponent=" + exponent + ", offset=" + offset + ", total="
                + total() + "]";
    }
}
