package org.quant4j.range.pdf;

import java.util.Map;
import org.apache.commons.math3.distribution.RealDistribution;

/**
 * The PDF chosen for one channel by {@link PdfFitter}, in normalized units.
 *
 * <p>A channel value x and its normalized value z are related by {@code x = location + scale * z} for a two-sided
 * channel ({@code location} = mean, {@code scale} = standard deviation), {@code x = sign * scale * z} for a
 * one-sided one ({@code scale} = root mean square of the non-zero values). In normalized units the fitted member
 * of the family has mean 0 and standard deviation {@code spread} (1, except for a bounded family widened to cover
 * the observed extremes); a one-sided channel is modelled by its half density {@code 2 p(z)}, z >= 0.
 *
 * @param family        the chosen family
 * @param side          two-sided or one-sided (and which sign)
 * @param location      mean of the channel (0 for one-sided)
 * @param scale         the channel units per normalized unit
 * @param spread        standard deviation of the fitted member in normalized units
 * @param zeroFraction  share of exact zeros, set aside for one-sided channels (0 for two-sided)
 * @param logLikelihood binned log-likelihood per value of the chosen member (the goodness of fit)
 * @param scores        the binned log-likelihood per value of every family tried
 * @param kurtosis      kurtosis of the normalized data (of the mirrored data for one-sided channels)
 * @param hyperKurtosis standardized 6th moment of the normalized data (same convention)
 */
public record PdfFit(PdfFamily family, Side side, double location, double scale, double spread, double zeroFraction,
                     double logLikelihood, Map<PdfFamily, Double> scores, double kurtosis, double hyperKurtosis) {

    /** Which side(s) of zero the channel occupies. */
    public enum Side {
        TWO_SIDED(0),
        NON_NEGATIVE(1),
        NON_POSITIVE(-1);

        private final int sign;

        Side(int sign) {
            this.sign = sign;
        }

        public boolean oneSided() {
            return this != TWO_SIDED;
        }

        /** +1 or -1 for one-sided channels, 0 for two-sided ones. */
        public int sign() {
            return sign;
        }
    }

    public PdfFit {
        scores = Map.copyOf(scores);
    }

    /** The fitted member in normalized units: mean 0, standard deviation {@link #spread}. */
    public RealDistribution distribution() {
        return family.create(0, spread);
    }

    /** Channel value of the normalized offset {@code z} above the centre (location, or 0 one-sided). */
    public double toChannel(double z) {
        return side.oneSided() ? side.sign() * scale * z : location + scale * z;
    }

    /** Normalized value of a channel value x. */
    public double toNormalized(double x) {
        return side.oneSided() ? side.sign() * x / scale : (x - location) / scale;
    }
}
