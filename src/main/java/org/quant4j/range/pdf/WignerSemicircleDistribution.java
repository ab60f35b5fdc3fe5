package org.quant4j.range.pdf;

import org.apache.commons.math3.distribution.AbstractRealDistribution;
import org.apache.commons.math3.exception.NotStrictlyPositiveException;
import org.apache.commons.math3.random.JDKRandomGenerator;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.util.FastMath;

/**
 * The Wigner semicircle distribution with location {@code mu} and radius {@code R}, on {@code [mu - R, mu + R]}.
 * With {@code z = (x - mu) / R}:
 * <pre>
 *   density  p(x) = (2 / (pi R^2)) * sqrt(R^2 - (x - mu)^2)
 *   cdf      F(x) = 1/2 + z sqrt(1 - z^2) / pi + asin(z) / pi
 *   mean mu, variance R^2 / 4, kurtosis 2, standardized 6th moment 5
 * </pre>
 * (The even moments of the unit-variance form, R = 2, are the Catalan numbers 1, 1, 2, 5, ...)
 * The clipping moment, with {@code t = a / R} and {@code r = sqrt(1 - t^2)}:
 * <pre>
 *   integral_a^R (x - mu - a)^2 p(x) dx = R^2 (2 / pi) [ I2 - 2 t I1 + t^2 I0 ],
 *   I0 = (acos t - t r) / 2,   I1 = r^3 / 3,   I2 = (acos t - t (2 t^2 - 1) r) / 8
 * </pre>
 * {@link #sample()} returns the first coordinate of a point drawn uniformly in the disc of radius R.
 */
public final class WignerSemicircleDistribution extends AbstractRealDistribution implements ClosedFormClipping {

    private static final long serialVersionUID = 1L;

    private final double mu;
    private final double radius;

    public WignerSemicircleDistribution(double mu, double radius) {
        this(new JDKRandomGenerator(0), mu, radius);
    }

    public WignerSemicircleDistribution(RandomGenerator rng, double mu, double radius) {
        super(rng);
        if (!(radius > 0)) {
            throw new NotStrictlyPositiveException(radius);
        }
        this.mu = mu;
        this.radius = radius;
    }

    public double getLocation() {
        return mu;
    }

    public double getRadius() {
        return radius;
    }

    @Override
    public double density(double x) {
        double z = (x - mu) / radius;
        if (z <= -1 || z >= 1) {
            return 0;
        }
        return 2 / (Math.PI * radius) * Math.sqrt(1 - z * z);
    }

    @Override
    public double cumulativeProbability(double x) {
        double z = (x - mu) / radius;
        if (z <= -1) {
            return 0;
        }
        if (z >= 1) {
            return 1;
        }
        return 0.5 + (z * Math.sqrt(1 - z * z) + FastMath.asin(z)) / Math.PI;
    }

    @Override
    public double clippingMoment(double a) {
        double t = a / radius;
        if (t >= 1) {
            return 0;
        }
        double r = Math.sqrt(1 - t * t);
        double acos = FastMath.acos(t);
        double i0 = (acos - t * r) / 2;
        double i1 = r * r * r / 3;
        double i2 = (acos - t * (2 * t * t - 1) * r) / 8;
        return radius * radius * (2 / Math.PI) * Math.max(0, i2 - 2 * t * i1 + t * t * i0);
    }

    @Override
    public double getNumericalMean() {
        return mu;
    }

    @Override
    public double getNumericalVariance() {
        return radius * radius / 4;
    }

    @Override
    public double getSupportLowerBound() {
        return mu - radius;
    }

    @Override
    public double getSupportUpperBound() {
        return mu + radius;
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
        return mu + radius * Math.sqrt(random.nextDouble()) * FastMath.cos(Math.PI * random.nextDouble());
    }
}
