package org.quant4j.calib;

/**
 * Streaming statistics of the values of one channel (first version: count and extremes only; moments and the
 * histogram come with the range-solver work).
 *
 * <p>One pass, no value kept; {@link #merge} of two halves gives what one pass over all values gives.
 */
public final class ChannelStatistics {

    private long count;
    private double min = Double.POSITIVE_INFINITY;
    private double max = Double.NEGATIVE_INFINITY;

    /** Adds {@code values[from..to)}. */
    public void accept(float[] values, int from, int to) {
        double lo = min;
        double hi = max;
        for (int i = from; i < to; i++) {
            float v = values[i];
            if (v < lo) {
                lo = v;
            }
            if (v > hi) {
                hi = v;
            }
        }
        min = lo;
        max = hi;
        count += to - from;
    }

    /** Adds everything {@code other} has seen. */
    public void merge(ChannelStatistics other) {
        count += other.count;
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
    }

    public long count() {
        return count;
    }

    public double min() {
        return min;
    }

    public double max() {
        return max;
    }
}
