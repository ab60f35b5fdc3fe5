package org.quant4j.range.pdf;

import org.apache.commons.math3.distribution.LogisticDistribution;
import org.apache.commons.math3.random.RandomGenerator;

/**
 * Commons Math's {@link LogisticDistribution} with its variance corrected.
 *
 * <p>Commons Math 3.6.1 returns {@code pi^2 / (3 s^2)} from {@code getNumericalVariance()}; the variance of the
 * logistic distribution with scale s is {@code s^2 pi^2 / 3} (density {@code e^-z / (s (1 + e^-z)^2)},
 * {@code z = (x - mu) / s}; kurtosis 4.2). Everything else is inherited.
 */
public final class FixedLogisticDistribution extends LogisticDistribution {

    private static final long serialVersionUID = 1L;

    public FixedLogisticDistribution(RandomGenerator rng, double mu, double s) {
        super(rng, mu, s);
    }

    @Override
    public double getNumericalVariance() {
        double s = getScale();
        return s * s * Math.PI * Math.PI / 3;
    }
}
