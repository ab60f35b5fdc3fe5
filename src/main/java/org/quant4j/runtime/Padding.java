package org.quant4j.runtime;

/** The padding of a sliding window (convolution, pooling) over H and W. */
final class Padding {

    private Padding() {
    }

    /** Padding {top, left, bottom, right}: explicit, or SAME's (total = (out - 1) s + (k - 1) d + 1 - in, top half). */
    static long[] of(long h, long w, long outH, long outW, long kH, long kW, long sH, long sW, long dH, long dW,
            long pH, long pW, boolean same) {
        if (same) {
            long totalH = Math.max((outH - 1) * sH + (kH - 1) * dH + 1 - h, 0);
            long totalW = Math.max((outW - 1) * sW + (kW - 1) * dW + 1 - w, 0);
            return new long[] {totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2};
        }
        long bottom = (outH - 1) * sH + (kH - 1) * dH + 1 - h - pH;
        long right = (outW - 1) * sW + (kW - 1) * dW + 1 - w - pW;
        return new long[] {pH, pW, Math.max(bottom, 0), Math.max(right, 0)};
    }
}
