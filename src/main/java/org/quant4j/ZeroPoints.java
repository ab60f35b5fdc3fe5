package org.quant4j;

import java.util.Arrays;
import java.util.Locale;

/**
 * Whether activations are quantized asymmetrically, with a zero point ({@code x = s (q - z)}, levels
 * {@code q = 0 .. 2^M - 1}, PyTorch's default for activations), or on the symmetric grids ({@code z = 0}: unsigned
 * for one-sided activations, signed narrow-range for two-sided ones). See {@link org.quant4j.range.QuantGrid}.
 */
public enum ZeroPoints {
    /** No zero points (the default): unsigned or symmetric signed grids. */
    OFF("off"),
    /**
     * Per activation point, with or without a zero point, whichever gives the point's consumers the smaller measured
     * output error (the same measurement as the per-point granularity choice); only points with negative values are
     * offered one (a one-sided point's unsigned grid already has zero point 0 at its lower end).
     */
    PER_POINT("per-point"),
    /** A zero point at every activation point that holds negative values. */
    ON("on");

    private final String label;

    ZeroPoints(String label) {
        this.label = label;
    }

    /** The name on the command line and in reports: "off", "per-point" or "on". */
    public String label() {
        return label;
    }

    /**
     * The setting of a label (case-insensitive, underscores accepted; "point" for per-point).
     *
     * @throws IllegalArgumentException naming the accepted labels
     */
    public static ZeroPoints parse(String text) {
        String key = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (ZeroPoints z : values()) {
            if (z.label.equals(key) || z.label.equals("per-" + key)) {
                return z;
            }
        }
        throw new IllegalArgumentException("unknown zero-point setting '" + text + "' (known: "
                + String.join(", ", Arrays.stream(values()).map(ZeroPoints::label).toList()) + ")");
    }
}
