package org.quant4j.range.pdf;

import org.apache.commons.math3.distribution.AbstractRealDistribution;
import org.apache.commons.math3.exception.NotStrictlyPositiveException;
import org.apache.commons.math3.random.JDKRandomGenerator;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.util.FastMath;

/**
 * The raised cosine distribution with location {@code mu} and half-width {@code s}, on {@code [mu - s, mu + s]}.
 * With {@code z = (x - mu) / s}:
 * <pre>
 *   density  p(x) = (1 / (2 s)) * (1 + cos(pi z))
 *   cdf      F(x) = (1 / 2) * (1 + z + sin(pi z) / pi)
 *   mean mu, variance s^2 (1/3 - 2/pi^2) = 0.130691 s^2,
 *   kurtosis 3 + 6 (90 - pi^4) / (5 (pi^2 - 6)^2) = 2.406237, standardized 6th moment 8.033107
 * </pre>
 * The inverse cdf has no closed form (the numerical default of Commons Math is used); {@link #sample()} draws by
 * rejection from the uniform on the support (acceptance 1/2).
 */
public final class RaisedCosineDistribution extends AbstractRealDistribution implements ClosedFormClipping {

    private static final long serialVersionUID = 1L;

    /** Variance of the unit half-width form: 1/3 - 2/pi^2. */
    public static final double UNIT_VARIANCE = 1.0 / 3 - 2 / (Math.PI * Math.PI);

    private final double mu;
    private final double s;

    public RaisedCosineDistribution(double mu, double s) {
        this(new JDKRandomGenerator(0), mu, s);
    }

    public RaisedCosineDistribution(RandomGenerator rng, double mu, double s) {
        super(rng);
        if (!(s > 0)) {
            throw new NotStrictlyPositiveException(s);
        }
        this.mu = mu;
        this.s = s;
    }

    /** The distribution with the given mean and standard deviation. */
    public static RaisedCosineDistribution withStd(RandomGenerator rng, double mean, double std) {
        return new RaisedCosineDistribution(rng, mean, std / Math.sqrt(UNIT_VARIANCE));
    }

    public double getLocation() {
        return mu;
    }

    public double getHalfWidth() {
        return s;
    }

    @Override
    public double density(double x) {
        double z = (x - mu) / s;
        if (z < -1 || z > 1) {
            return 0;
        }
        return (1 + FastMath.cos(Math.PI * z)) / (2 * s);
    }

    @Override
    public double cumulativeProbability(double x) {
        double z = (x - mu) / s;
        if (z <= -1) {
            return 0;
        }
        if (z >= 1) {
            return 1;
        }
        return 0.5 * (1 + z + FastMath.sin(Math.PI * z) / Math.PI);
    }

    /**
     * {@code C(a) = integral_a^h (x - mu - a)^2 p(x) dx} in closed form, {@code 0 <= a}: with {@code k = pi / h} and
     * {@code L = h - a},
     * <pre>
     *   C(a) = [ L^3 / 3 - 2 L / k^2 + 2 sin(k L) / k^3 ] / (2 h)
     *        = (1 / (h k^3)) sum_{n >= 2} (-1)^n (k L)^(2n+1) / (2n+1)!     (used for k L < 1, free of cancellation)
     * </pre>
     */
    @Override
    public double clippingMoment(double a) {
        double l = s - Math.max(0, a);
        if (l <= 0) {
            return 0;
        }
        double k = Math.PI / s;
        double u = k * l;
        double bracket;
        if (u < 1) {
            double u2 = u * u;
            double term = u2 * u2 * u / 120; // u^5 / 5!
            bracket = 0;
            for (int n = 2; n < 12; n++) {
                bracket += term;
                term *= -u2 / ((2 * n + 2) * (2 * n + 3));
            }
            bracket *= 2 / (k * k * k);
        } else {
            bracket = l * l * l / 3 - 2 * l / (k * k) + 2 * FastMath.sin(u) / (k * k * k);
        }
        return bracket / (2 * s);
    }

    @Override
    public double getNumericalMean() {
        return mu;
    }

    @Override
    public double getNumericalVariance() {
        return s * s * UNIT_VARIANCE;
    }

    @Override
    public double getSupportLowerBound() {
        return mu - s;
    }

    @Override
    public double getSupportUpperBound() {
        return mu + s;
    }

    @Override
    public boolean isSupportLowerBoundInclusive() {
        return true;
    }

    @Override
    public boolean isSupportUpperBoundInclusive() {
        return true;
    }

    @Override
    public boolean isSupportConnected() {
        return true;
    }

    @Override
    public double sample() {
        while (true) {
            double z = 2 * random.nextDouble() - 1;
            if (2 * random.nextDouble() <= 1 + FastMath.cos(Math.PI * z)) {
                return mu + s * z;
            }
        }
    }
}
