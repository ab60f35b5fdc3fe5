package org.quant4j.range;

/**
 * A clip range {@code [lo, hi]} for one channel, with {@code lo <= 0 <= hi} so that zero is representable.
 *
 * @param lo lower clip value, at most 0
 * @param hi upper clip value, at least 0
 */
public record ClipRange(double lo, double hi) {

    public ClipRange {
        if (!(lo <= 0 && hi >= 0) || !Double.isFinite(lo) || !Double.isFinite(hi)) {
            throw new IllegalArgumentException("clip range must be finite and contain 0, got [" + lo + ", " + hi + "]");
        }
    }

    /** The range {@code [min(lo, 0), max(hi, 0)]} of the observed extremes, widened to contain zero. */
    public static ClipRange covering(double min, double max) {
        return new ClipRange(Math.min(min, 0.0), Math.max(max, 0.0));
    }

    /** The symmetric range {@code [-a, a]}. */
    public static ClipRange symmetric(double a) {
        return new ClipRange(-Math.abs(a), Math.abs(a));
    }

    /** The largest magnitude in the range. */
    public double magnitude() {
        return Math.max(-lo, hi);
    }
}
