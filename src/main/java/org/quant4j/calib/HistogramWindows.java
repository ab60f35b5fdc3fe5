package org.quant4j.calib;

/**
 * The arithmetic of {@link ChannelStatistics}'s histogram windows: bin {@code i} of a window with offset {@code k}
 * and exponent {@code e} is the global bin {@code k + i}, covering {@code [(k + i) 2^e, (k + i + 1) 2^e)}; a window
 * at a larger exponent nests a smaller one's bins ({@code g >> (e' - e)}), so counts move between layouts exactly.
 */
final class HistogramWindows {

    private HistogramWindows() {
    }

    /**
     * The bin exponent a histogram of {@code bins} bins that has seen nothing lays out for values in [lo, hi]
     * (which hold 0): the smallest whose window holds them, never so small that global indices pass 2^52.
     */
    static int freshExponent(double lo, double hi, int bins) {
        double magnitude = Math.max(-lo, hi);
        int e = magnitude > 0 ? Math.getExponent(magnitude) - 52 + 2 : -60;
        if (magnitude > 0) {
            e = Math.max(e, Math.getExponent((hi - lo) / bins) - 1);
        }
        while (globalIndex(hi, e) - globalIndex(lo, e) + 1 > bins) {
            e++;
        }
        return e;
    }

    /** The global bin of {@code x} at bin width {@code 2^e}: {@code floor(x 2^-e)}. */
    static long globalIndex(double x, int e) {
        return (long) Math.floor(Math.scalb(x, -e));
    }

    /**
     * Adds the counts of src (window offset/exponent) into dst (dstExponent >= srcExponent); the caller has checked
     * that no count passes {@code Integer.MAX_VALUE} (no bin holds more than the channel's total).
     */
    static void remap(long[] src, long srcOffset, int srcExponent, int[] dst, long dstOffset, int dstExponent) {
        int shift = dstExponent - srcExponent;
        for (int i = 0; i < src.length; i++) {
            long c = src[i];
            if (c != 0) {
                long j = ((srcOffset + i) >> shift) - dstOffset;
                dst[(int) j] += (int) c;
            }
        }
    }

    /** {@link #remap(long[], long, int, int[], long, int)} from a histogram counted in {@code int}. */
    static void remap(int[] src, long srcOffset, int srcExponent, int[] dst, long dstOffset, int dstExponent) {
        int shift = dstExponent - srcExponent;
        for (int i = 0; i < src.length; i++) {
            int c = src[i];
            if (c != 0) {
                long j = ((srcOffset + i) >> shift) - dstOffset;
                dst[(int) j] += c;
            }
        }
    }

    /** The first bin of {@code h} with a count, -1 when none. */
    static int firstNonEmpty(int[] h) {
        for (int i = 0; i < h.length; i++) {
            if (h[i] != 0) {
                return i;
            }
        }
        return -1;
    }

    /** The last bin of {@code h} with a count, -1 when none. */
    static int lastNonEmpty(int[] h) {
        for (int i = h.length - 1; i >= 0; i--) {
            if (h[i] != 0) {
                return i;
            }
        }
        return -1;
    }
}
