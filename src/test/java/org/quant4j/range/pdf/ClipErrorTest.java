package org.quant4j.range.pdf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.commons.math3.analysis.integration.IterativeLegendreGaussIntegrator;
import org.apache.commons.math3.distribution.LaplaceDistribution;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.distribution.RealDistribution;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.quant4j.range.pdf.ClipError.NoiseWeight;

class ClipErrorTest {

    /** ACIQ's published optima (Banner et al. 2019): Laplace a/b and Gaussian a/sigma for M = 2..8. */
    @ParameterizedTest(name = "M={0}: Laplace {1} b, Gaussian {2} sigma")
    @CsvSource({"2, 2.83, 1.71", "3, 3.89, 2.15", "4, 5.03, 2.55", "5, 6.20, 2.93", "6, 7.41, 3.28",
        "7, 8.64, 3.61", "8, 9.89, 3.92"})
    void reproducesAciqOptima(int bits, double laplace, double gaussian) {
        double step = ClipError.symmetricStep(bits);
        double l = ClipError.optimalClip(new LaplaceDistribution(0, 1), step, NoiseWeight.ALL_VALUES);
        double g = ClipError.optimalClip(new NormalDistribution(0, 1), step, NoiseWeight.ALL_VALUES);
        System.out.printf("ACIQ M=%d laplace %.4f (%.4f) gaussian %.4f (%.4f)%n", bits, l, laplace, g, gaussian);
        assertEquals(laplace, l, 0.01 * laplace);
        assertEquals(gaussian, g, 0.01 * gaussian);
        // Also with a Laplace of another scale: a scales with b.
        double l3 = ClipError.optimalClip(new LaplaceDistribution(0, 3), step, NoiseWeight.ALL_VALUES);
        assertEquals(3 * laplace, l3, 0.03 * laplace);
    }

    /** The design's formula (noise on unclipped values only) moves the optima by at most 1.5 % (2-bit Gaussian). */
    @ParameterizedTest(name = "M={0}")
    @CsvSource({"2, 2.83, 1.71", "3, 3.89, 2.15", "4, 5.03, 2.55", "5, 6.20, 2.93", "6, 7.41, 3.28",
        "7, 8.64, 3.61", "8, 9.89, 3.92"})
    void insideOnlyWeightStaysCloseToAciq(int bits, double laplace, double gaussian) {
        double step = ClipError.symmetricStep(bits);
        double l = ClipError.optimalClip(new LaplaceDistribution(0, 1), step, NoiseWeight.INSIDE_ONLY);
        double g = ClipError.optimalClip(new NormalDistribution(0, 1), step, NoiseWeight.INSIDE_ONLY);
        System.out.printf("inside-only M=%d laplace %.4f gaussian %.4f%n", bits, l, g);
        assertEquals(laplace, l, 0.01 * laplace);
        assertEquals(gaussian, g, (bits == 2 ? 0.015 : 0.01) * gaussian);
        if (bits == 2) {
            assertEquals(1.688, g, 0.002); // the one tabled value the P(|x|<=a) weight moves by more than 1 %
        }
    }

    /** The closed forms of C(a) agree with plain quadrature, and the numeric path is right for every family. */
    @ParameterizedTest
    @EnumSource(PdfFamily.class)
    void clippingMomentMatchesQuadrature(PdfFamily family) {
        RealDistribution p = family.create(0, 1);
        IterativeLegendreGaussIntegrator q = new IterativeLegendreGaussIntegrator(16, 1e-12, 1e-16, 2, 64);
        for (double a : new double[] {0.0, 0.5, 1.0, 1.6, 2.5, 4.0}) {
            double upper = Math.min(p.getSupportUpperBound(), 2000);
            double ref = 0;
            if (a < upper) {
                // piecewise, for the heavy tail of the Super Cauchy
                double lo = a;
                double len = 1;
                while (lo < upper) {
                    double hi = Math.min(upper, lo + len);
                    ref += q.integrate(10_000_000, x -> (x - a) * (x - a) * p.density(x), lo, hi);
                    lo = hi;
                    len *= 2;
                }
            }
            if (family == PdfFamily.SUPER_CAUCHY) {
                // the quadrature stops at U = 2000; the tail beyond, (2/pi) int_U^inf (x-a)^2 x^-4 dx, to O(U^-3)
                ref += 2 / (Math.PI * upper) - 2 * a / (Math.PI * upper * upper);
            }
            double got = ClipError.clippingMoment(p, a);
            double tol = 1e-7 + 1e-6 * ref;
            assertEquals(ref, got, tol, family + " a=" + a);
        }
        // E(0) is the whole signal power: 2 C(0) = variance.
        assertEquals(1.0, 2 * ClipError.clippingMoment(p, 0), 1e-6, family.toString());
    }
}
