package org.quant4j.range.pdf;

import org.apache.commons.math3.distribution.AbstractRealDistribution;
import org.apache.commons.math3.exception.NotStrictlyPositiveException;
import org.apache.commons.math3.random.JDKRandomGenerator;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.util.FastMath;

/**
 * The "Super Cauchy" distribution of claim 10 of US11481608B2, with location {@code mu} and scale {@code gamma}.
 *
 * <p><b>Which definition.</b> The patent names the family without defining it, and the name has no single
 * standard meaning in the literature. quant4j takes the squared Cauchy kernel, normalized: the Pearson type VII
 * distribution with exponent m = 2 (K. Pearson, 1916, "Mathematical contributions to the theory of evolution XIX",
 * Phil. Trans. R. Soc. A 216), which is Student's t with 3 degrees of freedom rescaled,
 * {@code x = mu + gamma * T_3 / sqrt(3)}. It keeps a Cauchy-like algebraic tail (p ~ |x|^-4 instead of |x|^-2),
 * heavier than every other family of claim 10, while having the finite variance that the range criterion needs:
 * for the plain Cauchy, E(a) (the clipping error) is infinite for every clip value, so no range could be chosen.
 * With {@code z = (x - mu) / gamma}:
 * <pre>
 *   density  p(x) = 2 / (pi gamma) * 1 / (1 + z^2)^2
 *   cdf      F(x) = 1/2 + (atan(z) + z / (1 + z^2)) / pi
 *   mean mu, variance gamma^2, skewness 0, kurtosis infinite (the 4th moment diverges)
 *   tail     integral_a^inf (x - a)^2 p(x) dx = gamma^2 [ (pi/2 - atan t + t/(1+t^2)) / pi
 *                                                   - 2 t / (pi (1 + t^2)) + t^2 S(t) ],  t = a / gamma (mu = 0),
 *            S(t) = 1 - F(t)
 * </pre>
 * {@link #sample()} draws {@code mu + gamma * Z / sqrt(chi2_3)} with three more standard normals for the chi-square.
 */
public final class SuperCauchyDistribution extends AbstractRealDistribution implements ClosedFormClipping {

    private static final long serialVersionUID = 1L;

    private final double mu;
    private final double gamma;

    public SuperCauchyDistribution(double mu, double gamma) {
        this(new JDKRandomGenerator(0), mu, gamma);
    }

    public SuperCauchyDistribution(RandomGenerator rng, double mu, double gamma) {
        super(rng);
        if (!(gamma > 0)) {
            throw new NotStrictlyPositiveException(gamma);
        }
        this.mu = mu;
        this.gamma = gamma;
    }

    public double getLocation() {
        return mu;
    }

    public double getScale() {
        return gamma;
    }

    @Override
    public double density(double x) {
        double z = (x - mu) / gamma;
        double q = 1 + z * z;
        return 2 / (Math.PI * gamma * q * q);
    }

    @Override
    public double cumulativeProbability(double x) {
        double z = (x - mu) / gamma;
        if (z > 0) {
            return 1 - upperTail(z);
        }
        return upperTail(-z);
    }

    /** S(t) = P(Z > t) for t >= 0, without cancellation: (atan(1/t) - t / (1 + t^2)) / pi. */
    static double upperTail(double t) {
        if (t == 0) {
            return 0.5;
        }
        return (FastMath.atan(1 / t) - t / (1 + t * t)) / Math.PI;
    }

    /** The tail integral {@code integral_a^inf (x - mu - a)^2 p(x) dx} in closed form (see the class comment). */
    @Override
    public double clippingMoment(double a) {
        double t = a / gamma;
        double q = 1 + t * t;
        double second = (FastMath.atan(1 / t) + t / q) / Math.PI; // (pi/2 - atan t + t/q)/pi for t > 0
        if (t <= 0) {
            second = (Math.PI / 2 - FastMath.atan(t) + t / q) / Math.PI;
        }
        double first = 1 / (Math.PI * q);
        double zeroth = t >= 0 ? upperTail(t) : 1 - upperTail(-t);
        return gamma * gamma * Math.max(0, second - 2 * t * first + t * t * zeroth);
    }

    @Override
    public double getNumericalMean() {
        return mu;
    }

    @Override
    public double getNumericalVariance() {
        return gamma * gamma;
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
        double z = random.nextGaussian();
        double a = random.nextGaussian();
        double b = random.nextGaussian();
        double c = random.nextGaussian();
        return mu + gamma * z / Math.sqrt(a * a + b * b + c * c);
    }
}
