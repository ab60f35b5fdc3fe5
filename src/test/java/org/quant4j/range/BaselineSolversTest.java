package org.quant4j.range;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.apache.commons.math3.distribution.LaplaceDistribution;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.junit.jupiter.api.Test;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.range.pdf.PdfFamily;
import org.quant4j.range.pdf.Samples;
import org.quant4j.range.pdf.ClipError;

class BaselineSolversTest {

    private static ChannelStatistics stats(float[] v) {
        return Samples.statistics(v);
    }

    private static float[] relu(float[] v) {
        float[] r = v.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] = Math.max(0, r[i]);
        }
        return r;
    }

    @Test
    void percentilePicksTheRightQuantile() {
        float[] v = Samples.draw(PdfFamily.GAUSSIAN, 0, 2.0, 1_000_000, 1);
        ChannelStatistics s = stats(v);
        PercentileSolver p4 = new PercentileSolver(99.99);
        assertEquals("percentile-99.99", p4.name());
        assertEquals("percentile-99.999", new PercentileSolver(99.999).name());
        // P(|x| <= a) = 0.9999  <=>  a = sigma * Phi^-1(1 - 0.00005) = 3.8906 sigma
        double expected = 2.0 * new NormalDistribution(0, 1).inverseCumulativeProbability(1 - 0.00005);
        ClipRange r = p4.solve(s, new QuantGrid(8, true));
        assertEquals(expected, r.hi(), 0.02 * expected);
        assertEquals(-r.hi(), r.lo());
        // unsigned: the percentile of x itself, on a post-ReLU channel (half the values are 0)
        ClipRange u = new PercentileSolver(99.0).solve(stats(relu(v)), new QuantGrid(8, false));
        assertEquals(2.0 * new NormalDistribution(0, 1).inverseCumulativeProbability(0.99), u.hi(), 0.02 * 4.65);
        assertEquals(0.0, u.lo());
        // 100 % is the observed extreme, never beyond
        assertEquals(Math.max(-s.min(), s.max()), new PercentileSolver(100).solve(s, new QuantGrid(8, true)).hi(), 1e-9);
    }

    @Test
    void entropyClipsOutliers() {
        float[] v = Samples.draw(PdfFamily.GAUSSIAN, 0, 1.0, 200_000, 2);
        Random r = new Random(3);
        for (int i = 0; i < 20; i++) {
            v[r.nextInt(v.length)] = (float) (r.nextBoolean() ? 30 : -30);
        }
        ChannelStatistics s = stats(v);
        ClipRange e = new EntropySolver().solve(s, new QuantGrid(8, true));
        System.out.println("entropy threshold with outliers at 30 sigma: " + e.hi());
        // As in TensorRT, the smallest threshold is L = 128 bins of the histogram (here 4.0 = 128 / 32).
        assertTrue(e.hi() >= 3.9 && e.hi() < 8, "threshold " + e.hi() + " clips the outliers, keeps the body");
        // Without the outliers, at 8 bits, the threshold sits inside the data too.
        ChannelStatistics clean = stats(Samples.draw(PdfFamily.GAUSSIAN, 0, 1.0, 200_000, 2));
        double t = new EntropySolver().solve(clean, new QuantGrid(8, true)).hi();
        assertTrue(t > 2.5 && t < Math.max(-clean.min(), clean.max()), "clean threshold " + t);
        // And a post-ReLU channel on an unsigned grid: [0, t] with t inside the data.
        ClipRange u = new EntropySolver().solve(stats(relu(v)), new QuantGrid(8, false));
        assertEquals(0.0, u.lo());
        assertTrue(u.hi() > 2.5 && u.hi() < 10, "unsigned threshold " + u.hi());
    }

    @Test
    void mseSolverLandsOnTheLaplaceOptimum() {
        float[] v = Samples.draw(PdfFamily.LAPLACE, 0, Math.sqrt(2), 400_000, 4); // b = 1
        ChannelStatistics s = stats(v);
        for (int bits : new int[] {4, 6}) {
            QuantGrid grid = new QuantGrid(bits, true);
            double a = new MseSolver().solve(s, grid).hi();
            // E(a) optimum with this grid's own step a / qmax (ACIQ's tables use 2a / 2^M: 5.03 b and 7.41 b)
            double expected = ClipError.optimalClip(new LaplaceDistribution(0, 1), 1.0 / grid.qmax(),
                    ClipError.NoiseWeight.INSIDE_ONLY);
            System.out.printf("mse solver M=%d: %.3f, E(a) optimum on the grid's step %.3f, ACIQ %.2f%n", bits, a,
                    expected, AciqSolver.alpha(bits, true));
            assertEquals(expected, a, 0.04 * expected);
            assertEquals(AciqSolver.alpha(bits, true), a, 0.12 * a);
        }
    }

    @Test
    void mseExpectedErrorMatchesTheSamples() {
        float[] v = Samples.draw(PdfFamily.LOGISTIC, 0.3, 1.0, 200_000, 5);
        ChannelStatistics s = stats(v);
        QuantGrid grid = new QuantGrid(4, true);
        for (double a : new double[] {1.0, 2.5, 4.0}) {
            double step = a / grid.qmax();
            double direct = 0;
            for (float x : v) {
                double q = step * Math.max(grid.qmin(), Math.min(grid.qmax(), Math.rint(x / step)));
                direct += (x - q) * (x - q);
            }
            direct /= v.length;
            assertEquals(direct, MseSolver.expectedError(s.histogram(), a, grid), 0.01 * direct, "a=" + a);
        }
    }

    @Test
    void aciqPicksThePriorByKurtosis() {
        QuantGrid g4 = new QuantGrid(4, true);
        ChannelStatistics lap = stats(Samples.draw(PdfFamily.LAPLACE, 0, Math.sqrt(2) * 0.5, 200_000, 6)); // b = .5
        assertEquals(5.03 * 0.5, new AciqSolver().solve(lap, g4).hi(), 0.03 * 2.5);
        ChannelStatistics gau = stats(Samples.draw(PdfFamily.GAUSSIAN, 0, 2.0, 200_000, 7));
        assertEquals(2.55 * 2.0, new AciqSolver().solve(gau, g4).hi(), 0.03 * 5.1);
        // post-ReLU Gaussian on the unsigned 4-bit grid: the symmetric problem at 5 bits, 2.93 sigma
        ChannelStatistics relu = stats(relu(Samples.draw(PdfFamily.GAUSSIAN, 0, 2.0, 200_000, 8)));
        ClipRange u = new AciqSolver().solve(relu, new QuantGrid(4, false));
        assertEquals(0.0, u.lo());
        assertEquals(2.93 * 2.0, u.hi(), 0.03 * 5.86);
        // beyond the table: solved numerically, and it keeps growing with M
        assertTrue(AciqSolver.alpha(9, false) > 3.92 && AciqSolver.alpha(9, false) < 4.5);
    }

    @Test
    void everySolverStaysInsideTheObservedRangeAndContainsZero() {
        float[] two = Samples.draw(PdfFamily.HYPERBOLIC_SECANT, 0.2, 1.0, 50_000, 9);
        float[] one = relu(two);
        for (RangeSolver solver : RangeMethods.all()) {
            for (boolean signed : new boolean[] {true, false}) {
                for (float[] v : new float[][] {two, one}) {
                    ChannelStatistics s = stats(v);
                    ClipRange r = solver.solve(s, new QuantGrid(8, signed));
                    double observed = Math.max(-s.min(), s.max());
                    String what = solver.name() + " signed=" + signed + " " + r;
                    assertTrue(r.lo() <= 0 && r.hi() >= 0, what);
                    assertTrue(r.magnitude() <= observed * (1 + 1e-12) && r.magnitude() > 0, what);
                    if (solver.name().equals("minmax")) {
                        continue; // minmax keeps [min, max] whatever the grid (the grid's scale symmetrizes)
                    }
                    if (signed) {
                        assertEquals(-r.lo(), r.hi(), 0.0, what);
                    } else {
                        assertEquals(0.0, r.lo(), what);
                        assertTrue(r.hi() <= s.max() * (1 + 1e-12), what);
                    }
                }
            }
        }
    }

    /**
     * The default selection: on channels no family describes (a scale mixture of Gaussians, two-sided and after a
     * ReLU, at 4 and 8 bits), the chosen member's range gives the observed values no more expected quantization
     * error than the maximum-likelihood member's, and is the range of one of the fitted members.
     */
    @Test
    void rangeErrorSelectionIsNeverWorseThanTheLikelihoodChoice() {
        java.util.Random rng = new java.util.Random(3);
        float[] v = new float[200_000];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextGaussian() * (i % 4 == 0 ? 3.0 : 0.7) + 0.4);
        }
        float[] relu = v.clone();
        for (int i = 0; i < relu.length; i++) {
            relu[i] = Math.max(0, relu[i]);
        }
        for (float[] data : new float[][] {v, relu}) {
            ChannelStatistics s = stats(data);
            for (int bits : new int[] {4, 8}) {
                QuantGrid grid = new QuantGrid(bits, data == v);
                FittedPdfRangeSolver.Result chosen = new FittedPdfRangeSolver().solveDetailed(s, grid);
                FittedPdfRangeSolver.Result likely = FittedPdfRangeSolver.maximumLikelihood().solveDetailed(s, grid);
                double eChosen = MseSolver.expectedError(s.histogram(), top(chosen.range(), grid), grid);
                double eLikely = MseSolver.expectedError(s.histogram(), top(likely.range(), grid), grid);
                System.out.printf("selection M=%d %s: range error %.4g (%s offset %.2f) vs likelihood %.4g (%s)%n",
                        bits, grid.signed() ? "two-sided" : "relu", eChosen, chosen.fit().family(),
                        chosen.fit().offset(), eLikely, likely.fit().family());
                assertTrue(eChosen <= eLikely, "range error " + eChosen + " > likelihood member's " + eLikely);
                boolean isCandidate = false;
                for (org.quant4j.range.pdf.PdfFit fit : new org.quant4j.range.pdf.PdfFitter().fitAllBinned(s,
                        s.cumulativeCounts())) {
                    isCandidate |= fit.family() == chosen.fit().family() && fit.offset() == chosen.fit().offset()
                            && fit.spread() == chosen.fit().spread();
                }
                assertTrue(isCandidate, "the chosen member is one of the fitted members");
            }
        }
    }

    private static double top(ClipRange r, QuantGrid grid) {
        return grid.signed() ? r.magnitude() : r.hi();
    }

    @Test
    void patentSolverDetails() {
        float[] v = Samples.draw(PdfFamily.LAPLACE, 0, 1.0, 100_000, 10);
        ChannelStatistics s = stats(v);
        FittedPdfRangeSolver solver = FittedPdfRangeSolver.maximumLikelihood();
        FittedPdfRangeSolver.Result r = solver.solveDetailed(s, new QuantGrid(8, true));
        assertEquals(PdfFamily.LAPLACE, r.fit().family());
        assertEquals(12, r.points().size()); // 4 moment points, 3 quantiles per side, 2 extremes
        assertEquals(r.range(), solver.solve(s, new QuantGrid(8, true)));
        // 8-bit Laplace: first range 9.9 b = 7.0 std, from the E(a) optimum; it is wider than the second range, so
        // the clip returned is the first range: 7.0 of the sample's own standard deviations.
        assertEquals(9.9 / Math.sqrt(2), r.first(), 0.2);
        assertTrue(r.second() < r.first(), "second " + r.second() + " first " + r.first());
        assertEquals(9.9 / Math.sqrt(2), r.range().magnitude() / s.std(), 0.25);
        // A constant channel has no PDF: the solver falls back to the observed range.
        ChannelStatistics constant = stats(new float[] {3f, 3f, 3f});
        FittedPdfRangeSolver.Result c = solver.solveDetailed(constant, new QuantGrid(8, true));
        assertNull(c.fit());
        assertEquals(ClipRange.symmetric(3), c.range());
        // Where the first range is narrower than the second, the second is used (claim 7): 4-bit Gaussian.
        float[] g = Samples.draw(PdfFamily.GAUSSIAN, 0, 1.0, 100_000, 11);
        FittedPdfRangeSolver.Result rg = solver.solveDetailed(stats(g), new QuantGrid(4, true));
        assertTrue(rg.second() > rg.first(), "second " + rg.second() + " first " + rg.first());
        assertEquals(rg.second(), rg.range().hi() / stats(g).std(), 0.02);
    }

    @Test
    void rangeMethodsByName() {
        assertEquals(java.util.List.of("minmax", "percentile-99.99", "percentile-99.999", "entropy", "mse", "aciq",
                "fitted-pdf", "fitted-pdf-ml", "fitted-pdf-lg", "fitted-pdf-folded"), RangeMethods.names());
        for (String n : RangeMethods.names()) {
            assertEquals(n, RangeMethods.byName(n).name());
        }
        assertEquals("percentile-99.9", RangeMethods.byName("Percentile-99.9").name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RangeMethods.byName("kl"));
        assertTrue(e.getMessage().contains("entropy"));
        assertThrows(IllegalArgumentException.class, () -> RangeMethods.byName("percentile-120"));
    }
}
