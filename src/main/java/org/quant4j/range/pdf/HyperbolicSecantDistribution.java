package org.quant4j.range.pdf;

import org.apache.commons.math3.distribution.AbstractRealDistribution;
import org.apache.commons.math3.exception.NotStrictlyPositiveException;
import org.apache.commons.math3.exception.OutOfRangeException;
import org.apache.commons.math3.random.JDKRandomGenerator;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.util.FastMath;

/**
 * The hyperbolic secant distribution with location {@code mu} and standard deviation {@code sigma}.
 *
 * <pre>
 *   density  p(x) = 1 / (2 sigma) * sech(pi (x - mu) / (2 sigma))
 *   cdf      F(x) = (2 / pi) * atan(exp(pi (x - mu) / (2 sigma)))
 *   inverse  F^-1(u) = mu + sigma * (2 / pi) * ln(tan(pi u / 2))
 *   mean mu, variance sigma^2, skewness 0, kurtosis 5 (excess 2), standardized 6th moment 61
 * </pre>
 * (The even moments of the standard form are the absolute Euler numbers 1, 1, 5, 61, ...)
 */
public final class HyperbolicSecantDistribution extends AbstractRealDistribution {

    private static final long serialVersionUID = 1L;

    private final double mu;
    private final double sigma;

    public HyperbolicSecantDistribution(double mu, double sigma) {
        this(new JDKRandomGenerator(0), mu, sigma);
    }

    public HyperbolicSecantDistribution(RandomGenerator rng, double mu, double sigma) {
        super(rng);
        if (!(sigma > 0)) {
            throw new NotStrictlyPositiveException(sigma);
        }
        this.mu = mu;
        this.sigma = sigma;
    }

    public double getLocation() {
        return mu;
    }

    public double getScale() {
        return sigma;
    }

    @Override
    public double density(double x) {
        double z = Math.abs(Math.PI * (x - mu) / (2 * sigma));
        // sech(z) = 2 e^-z / (1 + e^-2z), stable for large z
        double e = FastMath.exp(-z);
        return e / (sigma * (1 + e * e));
    }

    @Override
    public double cumulativeProbability(double x) {
        double z = Math.PI * (x - mu) / (2 * sigma);
        if (z > 0) {
            // 1 - (2/pi) atan(e^-z), accurate in the upper tail
            return 1 - (2 / Math.PI) * FastMath.atan(FastMath.exp(-z));
        }
        return (2 / Math.PI) * FastMath.atan(FastMath.exp(z));
    }

    @Override
    public double inverseCumulativeProbability(double p) {
        if (p < 0 || p > 1) {
            throw new OutOfRangeException(p, 0, 1);
        }
        if (p == 0) {
            return Double.NEGATIVE_INFINITY;
        }
        if (p == 1) {
            return Double.POSITIVE_INFINITY;
        }
        return mu + sigma * (2 / Math.PI) * FastMath.log(FastMath.tan(Math.PI * p / 2));
    }

    @Override
    public double getNumericalMean() {
        return mu;
    }

    @Override
    public double getNumericalVariance() {
        return sigma * sigma;
    }

    @Override
    public double getSupportLowerBound() {
        return Double.NEGATIVE_INFINITY;
    }

    @Override
    public double getSupportUpperBound() {
        return Double.POSITIVE_INFINITY;
    }

    @Override
    public boolean isSupportLowerBoundInclusive() {
        return false;
    }

    @Override
    public boolean isSupportUpperBoundInclusive() {
        return false;
    }

    @Override
    public boolean isSupportConnected() {
        return true;
    }

    @Override
    public double sample() {
        return inverseCumulativeProbability(random.nextDouble());
    }
}
