package org.quant4j.range.pdf;

import org.apache.commons.math3.distribution.LaplaceDistribution;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.distribution.RealDistribution;
import org.apache.commons.math3.distribution.UniformRealDistribution;
import org.apache.commons.math3.random.JDKRandomGenerator;
import org.apache.commons.math3.random.RandomGenerator;

/**
 * The candidate PDF families of claim 10 of US11481608B2. None has a shape parameter: a member is fixed by its
 * location and its standard deviation (the fit by moments). Standardized moments (kurtosis {@code m4/m2^2},
 * hyper-kurtosis {@code m6/m2^3}) of each family, used for reports and as a check of the samplers:
 * <pre>
 *   family              scale parameter for std sigma     kurtosis   hyper-kurtosis   support
 *   UNIFORM             half-width sqrt(3) sigma          1.8        27/7 = 3.857     bounded
 *   WIGNER_SEMICIRCLE   radius 2 sigma                    2          5                bounded
 *   RAISED_COSINE       half-width sigma/sqrt(1/3-2/pi^2) 2.406      8.033            bounded
 *   GAUSSIAN            sigma                             3          15               R
 *   LOGISTIC            s = sqrt(3) sigma / pi            4.2        39.857           R
 *   HYPERBOLIC_SECANT   sigma                             5          61               R
 *   LAPLACE             b = sigma / sqrt(2)               6          90               R
 *   SUPER_CAUCHY        gamma = sigma                     infinite   infinite         R
 * </pre>
 */
public enum PdfFamily {
    LAPLACE(6, 90),
    HYPERBOLIC_SECANT(5, 61),
    LOGISTIC(4.2, 62.0 * 27 / 42),
    GAUSSIAN(3, 15),
    RAISED_COSINE(2.4062371244017204, 8.033107300728208),
    WIGNER_SEMICIRCLE(2, 5),
    UNIFORM(1.8, 27.0 / 7),
    SUPER_CAUCHY(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY);

    private final double kurtosis;
    private final double hyperKurtosis;

    PdfFamily(double kurtosis, double hyperKurtosis) {
        this.kurtosis = kurtosis;
        this.hyperKurtosis = hyperKurtosis;
    }

    /** Kurtosis m4/m2^2 of the family (3 for the Gaussian). */
    public double kurtosis() {
        return kurtosis;
    }

    /** Hyper-kurtosis m6/m2^3 of the family (15 for the Gaussian). */
    public double hyperKurtosis() {
        return hyperKurtosis;
    }

    /** Whether the support is a bounded interval. */
    public boolean bounded() {
        return this == UNIFORM || this == WIGNER_SEMICIRCLE || this == RAISED_COSINE;
    }

    /** The member with the given mean and standard deviation, sampling from {@code rng}. */
    public RealDistribution create(RandomGenerator rng, double mean, double std) {
        return switch (this) {
            case GAUSSIAN -> new NormalDistribution(rng, mean, std);
            case LAPLACE -> new LaplaceDistribution(rng, mean, std / Math.sqrt(2));
            case LOGISTIC -> new FixedLogisticDistribution(rng, mean, std * Math.sqrt(3) / Math.PI);
            case UNIFORM -> new UniformRealDistribution(rng, mean - Math.sqrt(3) * std, mean + Math.sqrt(3) * std);
            case HYPERBOLIC_SECANT -> new HyperbolicSecantDistribution(rng, mean, std);
            case RAISED_COSINE -> RaisedCosineDistribution.withStd(rng, mean, std);
            case WIGNER_SEMICIRCLE -> new WignerSemicircleDistribution(rng, mean, 2 * std);
            case SUPER_CAUCHY -> new SuperCauchyDistribution(rng, mean, std);
        };
    }

    /** The member with the given mean and standard deviation (its sampler seeded with 0). */
    public RealDistribution create(double mean, double std) {
        return create(new JDKRandomGenerator(0), mean, std);
    }

    /** The half-width of the support of the member with standard deviation {@code std} (infinite if unbounded). */
    public double supportHalfWidth(double std) {
        return switch (this) {
            case UNIFORM -> Math.sqrt(3) * std;
            case WIGNER_SEMICIRCLE -> 2 * std;
            case RAISED_COSINE -> std / Math.sqrt(RaisedCosineDistribution.UNIT_VARIANCE);
            default -> Double.POSITIVE_INFINITY;
        };
    }
}
