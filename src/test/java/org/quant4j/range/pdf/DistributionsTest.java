package org.quant4j.range.pdf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.commons.math3.analysis.integration.IterativeLegendreGaussIntegrator;
import org.apache.commons.math3.distribution.RealDistribution;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.quant4j.calib.ChannelStatistics;

class DistributionsTest {

    /** cdf = integral of the density; the fit-by-std parameterization gives variance 1; inverse cdf inverts. */
    @ParameterizedTest
    @EnumSource(PdfFamily.class)
    void cdfIntegratesDensityAndVarianceIsMatched(PdfFamily family) {
        RealDistribution d = family.create(0.5, 1.0);
        assertEquals(0.5, d.getNumericalMean(), 1e-12);
        assertEquals(1.0, d.getNumericalVariance(), 1e-12);
        IterativeLegendreGaussIntegrator q = new IterativeLegendreGaussIntegrator(16, 1e-10, 1e-11, 2, 64);
        double lo = Math.max(d.getSupportLowerBound(), -3);
        for (double x : new double[] {-1.2, -0.3, 0.5, 0.9, 1.7, 2.2}) {
            double fx = d.cumulativeProbability(x);
            // piecewise at the mode (the Laplace cusp), tolerant of the semicircle's square-root edges
            double fromLo = 0;
            double mode = 0.5;
            if (x > lo) {
                double mid = Math.min(Math.max(mode, lo), x);
                fromLo = (mid > lo ? q.integrate(10_000_000, d::density, lo, mid) : 0)
                        + (x > mid ? q.integrate(10_000_000, d::density, mid, x) : 0);
            }
            assertEquals(fx - d.cumulativeProbability(lo), fromLo, 1e-8, family + " cdf at " + x);
            if (fx > 1e-9 && fx < 1 - 1e-9) {
                assertEquals(x, d.inverseCumulativeProbability(fx), 1e-6, family + " inverse at " + x);
            }
        }
    }

    /** The samplers draw the right law: sample kurtosis and hyper-kurtosis against the family's table values. */
    @ParameterizedTest
    @EnumSource(PdfFamily.class)
    void samplersMatchTheMoments(PdfFamily family) {
        float[] v = Samples.draw(family, -1.0, 3.0, 400_000, 11);
        ChannelStatistics s = Samples.statistics(v);
        assertEquals(-1.0, s.mean(), 0.03, "mean");
        if (family == PdfFamily.SUPER_CAUCHY) {
            // infinite kurtosis: only the variance (slowly) and the tail are checkable
            assertEquals(3.0, s.std(), 0.3);
            assertEquals(1 - family.create(0, 1).cumulativeProbability(2.0), fractionAbove(v, -1 + 3 * 2.0), 0.002);
            return;
        }
        assertEquals(3.0, s.std(), 0.02, "std");
        assertEquals(family.kurtosis(), s.kurtosis(), 0.03 * family.kurtosis(), "kurtosis");
        assertEquals(family.hyperKurtosis(), s.hyperKurtosis(), 0.1 * family.hyperKurtosis(), "hyper-kurtosis");
    }

    private static double fractionAbove(float[] v, double t) {
        int c = 0;
        for (float x : v) {
            if (x > t) {
                c++;
            }
        }
        return c / (double) v.length;
    }
}
