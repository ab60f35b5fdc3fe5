package org.quant4j.range.pdf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.apache.commons.math3.analysis.integration.IterativeLegendreGaussIntegrator;
import org.apache.commons.math3.distribution.RealDistribution;
import org.junit.jupiter.api.Test;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.CumulativeCounts;
import org.quant4j.calib.Histogram;
import org.quant4j.range.pdf.ClipError.NoiseWeight;

class FamilyTablesTest {

    @Test
    void tabulatedClippingMomentEqualsQuadrature() {
        Random r = new Random(5);
        for (PdfFamily f : PdfFamily.values()) {
            RealDistribution unit = f.create(0, 1);
            for (int i = 0; i < 200; i++) {
                double t = i < 100 ? 12 * r.nextDouble() : 0.5 + 3 * r.nextDouble();
                double step = ClipError.symmetricStep(2 + r.nextInt(7));
                double exact = ClipError.error(unit, t, step, NoiseWeight.INSIDE_ONLY);
                double table = FamilyTables.unitError(f, t, step, NoiseWeight.INSIDE_ONLY);
                assertEquals(exact, table, 1e-7 * exact, f + " E_1(" + t + ")");
            }
        }
    }

    @Test
    void scaledQuantitiesEqualThoseOfTheScaledMember() {
        for (PdfFamily f : PdfFamily.values()) {
            RealDistribution member = f.create(0, 1.7);
            for (int bits : new int[] {2, 4, 8}) {
                double step = ClipError.oneSidedStep(bits);
                double exact = ClipError.optimalClip(member, step, NoiseWeight.INSIDE_ONLY);
                assertEquals(exact, FamilyTables.optimalClip(f, 1.7, step, NoiseWeight.INSIDE_ONLY), 1e-6 * exact,
                        f + " optimum M=" + bits);
                for (double a : new double[] {0.7, 2.5, 6}) {
                    assertEquals(ClipError.sqnr(member, a, step, NoiseWeight.INSIDE_ONLY),
                            FamilyTables.sqnr(f, 1.7, a, step, NoiseWeight.INSIDE_ONLY), 1e-7, f + " sqnr at " + a);
                }
            }
        }
    }

    /**
     * The one-sided model's E(a) against its definition by quadrature on the located member: clipping error
     * {@code integral_a^inf (x - a)^2 p(x) dx / P(Y > 0)} plus noise {@code (c a)^2 / 12 * P(0 < Y <= a) / P(Y > 0)},
     * for offsets on both sides of zero; at offset 0 it equals the folded half's {@code spread^2 E_1(a / spread)}.
     */
    @Test
    void oneSidedErrorEqualsItsDefinition() {
        IterativeLegendreGaussIntegrator quad = new IterativeLegendreGaussIntegrator(8, 1e-11, 1e-15, 2, 64);
        for (PdfFamily f : PdfFamily.values()) {
            for (double offset : new double[] {-1.3, 0, 0.8, 2.5}) {
                double spread = 1.4;
                RealDistribution y = f.create(offset, spread);
                double positive = 1 - y.cumulativeProbability(0);
                double upper = Math.min(y.getSupportUpperBound(), offset + 1e9 * spread);
                for (double a : new double[] {0.5, 2, 4.5}) {
                    double step = ClipError.oneSidedStep(4);
                    double clip = 0;
                    // piecewise, split at the centre (the Laplace's kink), pieces doubling past it (the Super
                    // Cauchy's integrand decays as x^-2); on each piece x = hi - t^2, which removes the square-root
                    // edge of the semicircle's support
                    double piece = spread;
                    for (double lo = a; lo < upper; piece *= lo < offset ? 1 : 2) {
                        double hi = Math.min(upper, lo < offset ? Math.min(offset, lo + piece) : lo + piece);
                        double end = hi;
                        clip += quad.integrate(1_000_000,
                                t -> 2 * t * Math.pow(end - t * t - a, 2) * y.density(end - t * t), 0,
                                Math.sqrt(hi - lo));
                        lo = hi;
                    }
                    double inside = y.cumulativeProbability(a) - y.cumulativeProbability(0);
                    double expected = (clip + Math.pow(step * a, 2) / 12 * inside) / positive;
                    double got = FamilyTables.oneSidedError(f, offset, spread, a, step, NoiseWeight.INSIDE_ONLY);
                    assertEquals(expected, got, 1e-6 * expected, f + " offset " + offset + " E(" + a + ")");
                    if (offset == 0) {
                        assertEquals(spread * spread * FamilyTables.unitError(f, a / spread, step,
                                NoiseWeight.INSIDE_ONLY), got, 1e-9 * got, f + " folded");
                    }
                }
            }
        }
    }

    @Test
    void cumulativeCountsAgreeWithHistogram() {
        float[] v = Samples.draw(PdfFamily.LAPLACE, 0.3, 2, 50_000, 3);
        ChannelStatistics s = Samples.statistics(v);
        Histogram h = s.histogram();
        CumulativeCounts c = new CumulativeCounts(h);
        for (double p : new double[] {0, 1e-5, 0.01, 0.25, 0.5, 0.75, 0.99, 0.9999, 1}) {
            assertEquals(h.quantile(p), c.quantile(p), 0, "quantile " + p);
        }
        for (double x : new double[] {-100, -3, -0.1, 0, 0.2, 5, 100}) {
            assertEquals(h.cdf(x) * h.total(), c.countBelow(x), 1e-9 * h.total(), "count below " + x);
        }
    }
}
