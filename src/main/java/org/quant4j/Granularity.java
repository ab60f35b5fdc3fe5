package org.quant4j;

import java.util.Arrays;
import java.util.Locale;

/**
 * Whether each channel of a tensor gets its own quantization range, the whole tensor shares one, or (activations
 * only) each activation point gets whichever of the two serves its consumers better.
 */
public enum Granularity {
    /** One range per channel (weights: per output channel). */
    PER_CHANNEL("per-channel"),
    /** One range per tensor. */
    PER_TENSOR("per-tensor"),
    /**
     * Activations only: per activation point, per-channel or per-tensor scales, whichever gives the point's
     * consumers the smaller expected squared output error (see {@link QuantizationOptions.Builder#activationGranularity}).
     */
    PER_POINT("per-point");

    private final String label;

    Granularity(String label) {
        this.label = label;
    }

    /** The name on the command line and in reports: "per-channel", "per-tensor" or "per-point". */
    public String label() {
        return label;
    }

    /**
     * The granularity of a label (case-insensitive; "channel", "tensor", "point" and underscores accepted).
     *
     * @throws IllegalArgumentException naming the accepted labels
     */
    public static Granularity parse(String text) {
        String key = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Granularity g : values()) {
            if (g.label.equals(key) || g.label.equals("per-" + key)) {
                return g;
            }
        }
        throw new IllegalArgumentException("unknown granularity '" + text + "'; known: "
                + String.join(", ", Arrays.stream(values()).map(Granularity::label).toList()));
    }
}
