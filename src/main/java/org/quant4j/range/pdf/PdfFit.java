package org.quant4j.range.pdf;

import java.util.Map;
import org.apache.commons.math3.distribution.RealDistribution;

/**
 * The PDF chosen for one channel by {@link PdfFitter}, in normalized units.
 *
 * <p>A channel value x and its normalized value z are related by {@code x = location + scale * z} for a two-sided
 * channel ({@code location} = mean, {@code scale} = standard deviation), {@code x = sign * scale * z} for a
 * one-sided one ({@code scale} = root mean square of the non-zero values). In normalized units the fitted member
 * of the family has mean {@code offset} (0 for a two-sided channel) and standard deviation {@code spread}.
 *
 * <p>A one-sided channel's non-zero values are modelled as the positive part of that member, {@code Y | Y > 0}
 * (the exact zeros are set aside): density {@code p(z) / P(Y > 0)} on z > 0. At {@code offset = 0} this is the
 * folded half of a centred member, density {@code 2 p(z)}; a positive offset is a channel whose values peak away
 * from zero (BatchNorm then ReLU), a negative one a sparse channel of which only the upper tail passes the ReLU.
 *
 * @param family        the chosen family
 * @param side          two-sided or one-sided (and which sign)
 * @param location      mean of the channel (0 for one-sided)
 * @param scale         the channel units per normalized unit
 * @param spread        standard deviation of the fitted member in normalized units
 * @param offset        mean of the fitted member in normalized units (0 for two-sided channels and for the folded
 *                      half model of one-sided ones)
 * @param zeroFraction  share of exact zeros, set aside for one-sided channels (0 for two-sided)
 * @param logLikelihood binned log-likelihood per value of the chosen member (the goodness of fit)
 * @param scores        the binned log-likelihood per value of every family tried
 * @param kurtosis      kurtosis of the normalized data (of the mirrored data for one-sided channels)
 * @param hyperKurtosis standardized 6th moment of the normalized data (same convention)
 */
public record PdfFit(PdfFamily family, Side side, double location, double scale, double spread, double offset,
                     double zeroFraction,
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

    /** The fitted member in normalized units: mean {@link #offset}, standard deviation {@link #spread}. */
    public RealDistribution distribution() {
        return family.create(offset, spread);
    }

    /**
     * The model density at the normalized value z of the values this fit describes: {@code p(z)} for a two-sided
     * channel, {@code p(z) / P(Y > 0)} for z > 0 (0 below) for a one-sided one.
     */
    public double density(double z) {
        RealDistribution p = distribution();
        if (!side.oneSided()) {
            return p.density(z);
        }
        return z < 0 ? 0 : p.density(z) / p.cumulativeProbability(2 * offset); // P(Y > 0), by symmetry about offset
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
