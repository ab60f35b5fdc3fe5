package org.quant4j.range;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.math3.distribution.RealDistribution;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.range.pdf.FamilyTables;
import org.quant4j.range.pdf.PdfFamily;
import org.quant4j.range.pdf.Samples;
import org.quant4j.range.pdf.ClipError;

class FittedPdfRangeSolverTest {

    /**
     * Mean squared error of quantize-dequantize of the samples at clip a, on the grid E(a) models: levels
     * k * Delta, Delta = stepPerClip * a, clamped to [-a, a] (two-sided) or [0, a] (one-sided).
     */
    static double sampleMse(float[] v, double a, double stepPerClip, boolean oneSided) {
        double delta = stepPerClip * a;
        double inv = 1 / delta;
        double lo = oneSided ? 0 : -a;
        double s = 0;
        for (float x : v) {
            double q = Math.rint(x * inv) * delta;
            q = Math.max(lo, Math.min(a, q));
            double e = x - q;
            s += e * e;
        }
        return s / v.length;
    }

    /**
     * The clip minimizing {@link #sampleMse}: steps of 1 % over 0.8 to 1.25 times {@code guess} (moved outwards
     * while the minimum lands on an end), then steps of 0.1 % within ±1.5 % of the coarse minimum; returns
     * {a, mse(a)}.
     */
    static double[] bruteForce(float[] v, double guess, double stepPerClip, boolean oneSided) {
        double from = 0.8 * guess;
        double to = 1.25 * guess;
        double coarse;
        while (true) {
            coarse = argmin(v, from, to, 1.01, stepPerClip, oneSided)[0];
            if (coarse < from * 1.005) {
                to = from * 1.03;
                from = from / 1.3;
            } else if (coarse > to / 1.015) {
                from = to / 1.03;
                to = to * 1.3;
            } else {
                break;
            }
        }
        return argmin(v, coarse / 1.015, coarse * 1.015, 1.001, stepPerClip, oneSided);
    }

    private static double[] argmin(float[] v, double from, double to, double ratio, double stepPerClip, boolean oneSided) {
        double best = Double.NaN;
        double bestE = Double.POSITIVE_INFINITY;
        for (double a = from; a <= to * 1.0000001; a *= ratio) {
            double e = sampleMse(v, a, stepPerClip, oneSided);
            if (e < bestE) {
                bestE = e;
                best = a;
            }
        }
        return new double[] {best, bestE};
    }

    /**
     * The first range of the whole path (statistics, fit, E(a)) against the brute-force optimum of the sample MSE,
     * for each family (std 1.5), two-sided at M = 3, 4, 6, 8 and post-ReLU at M = 4, 8, on enough samples to put
     * about 200 of them past the optimum (0.4 to 4 million):
     * <ul>
     *   <li>where the brute force is statistically resolved (at least 150 samples past its optimum), the first
     *       range is within 2 % of the brute-force clip and its sample MSE within 1 % of the brute-force minimum;</li>
     *   <li>otherwise (heavy tails at 8 bits, where even 4 million samples leave a handful past the optimum and the
     *       sample MSE's argmin is set by them) the first range is checked against the optimum of the true law,
     *       within 5 %: that checks the fit, which is all the first range depends on.</li>
     * </ul>
     */

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (PdfFamily f : PdfFamily.values()) {
            for (int bits : new int[] {3, 4, 6, 8}) {
                b.add(Arguments.of(f, bits, false));
            }
            b.add(Arguments.of(f, 4, true));
            b.add(Arguments.of(f, 8, true));
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} M={1} oneSided={2}")
    @MethodSource("cases")
    @Tag("slow")
    void firstRangeMatchesBruteForceOnSamples(PdfFamily family, int bits, boolean oneSided) {
        // Enough samples to resolve the tail past the true optimum (at least 200 expected), within 0.4M..4M.
        RealDistribution truth = family.create(0, 1.5);
        double step = 1.0 / new QuantGrid(bits, !oneSided).qmax(); // the solver's step: that of the real grid
        double trueOpt = ClipError.optimalClip(truth, step, ClipError.NoiseWeight.INSIDE_ONLY);
        double tailShare = (1 - truth.cumulativeProbability(trueOpt)) * (oneSided ? 1 : 2);
        int n = (int) Math.max(400_000, Math.min(4_000_000, 200 / Math.max(tailShare, 1e-12)));
        float[] v = Samples.draw(family, 0, 1.5, n, 31L * bits + family.ordinal());
        if (oneSided) {
            for (int i = 0; i < v.length; i++) {
                v[i] = Math.max(0, v[i]);
            }
        }
        ChannelStatistics s = Samples.statistics(v);
        QuantGrid grid = new QuantGrid(bits, !oneSided);
        FittedPdfRangeSolver.Result r = FittedPdfRangeSolver.maximumLikelihood().solveDetailed(s, grid);
        double first = r.firstInChannelUnits() + (oneSided ? 0 : r.fit().location());
        double[] bf = bruteForce(v, first, r.stepPerClip(), oneSided);
        double err = (first - bf[0]) / bf[0];
        double excess = sampleMse(v, first, r.stepPerClip(), oneSided) / bf[1] - 1;
        double beyond = n * (1 - family.create(0, 1.5).cumulativeProbability(bf[0])) * (oneSided ? 1 : 2);
        boolean resolved = beyond >= 150;
        System.out.printf("first-vs-bruteforce %-18s M=%d %s fit=%-18s first=%.4f bf=%.4f err=%+.2f%% mse+%.3f%%"
                + " tail=%.0f n=%d trueLawOpt=%.4f%s%n", family, bits, oneSided ? "relu" : "two ", r.fit().family(), first,
                bf[0], 100 * err, 100 * excess, beyond, n, trueOpt, resolved ? "" : " (unresolved)");
        // The fit: the first range equals the E(a) optimum of the true law (measured: within 1 % everywhere).
        assertEquals(trueOpt, first, 0.02 * trueOpt, "first range vs the true law's optimum");
        if (resolved) {
            assertTrue(excess <= 0.01, "MSE at the first range within 1 % of the sample optimum, got " + excess);
            // The Super Cauchy at 4 and 6 bits is the one exception to 2 % (this seed: -2.3 % at M=4, -2.7 % at M=6,
            // -4.8 % at M=4 post-ReLU). Not the fit, not E(a): the first range is within 0.25 % of the optimum of the
            // true law's exact expected MSE on the real grid (firstRangeIsTheExactGridOptimum). The reference is
            // what misses: the sample MSE is flat near its minimum and its slope there is a sum over the ~200 tail
            // values of a p ~ x^-4 law, so its argmin scatters by 1.5 % (M=4), 3.8 % (M=6), 4.2 % (M=4 post-ReLU)
            // standard deviation from seed to seed, centred on the true optimum (superCauchySampleOptimumScatters):
            // even the perfect answer misses 2 % for a quarter of the seeds. Its sample MSE at the first range is
            // within 0.25 % of the minimum.
            double tol = family == PdfFamily.SUPER_CAUCHY ? 0.05 : 0.02;
            assertEquals(bf[0], first, tol * bf[0]);
        } else {
            // the sample cannot say; check the fit instead: first range vs the optimum of the true law
            System.out.printf("   vs true-law optimum %.4f: %+.2f%%%n", trueOpt, 100 * (first / trueOpt - 1));
            assertEquals(trueOpt, first, 0.05 * trueOpt);
        }
    }

    static Stream<Arguments> rectifiedCases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (PdfFamily f : PdfFamily.values()) {
            for (double mean : new double[] {1.5, -1.0}) {
                for (int bits : new int[] {4, 8}) {
                    b.add(Arguments.of(f, mean, bits));
                }
            }
        }
        return b.build();
    }

    /**
     * ReLU of a member whose mean is not 0 (mean +1.5 std: BatchNorm then ReLU, 7 % zeros for the Gaussian; mean
     * -1 std: a sparse channel, 84 % zeros), std 1.5, on the unsigned grid at M = 4 and 8: the first range is
     * within 2 % of the true law's optimum ({@link FamilyTables#oneSidedOptimalClip} of the generating member) and,
     * where the sample resolves it, its sample MSE is within 1 % of the brute-force minimum and the range within 2 %
     * of the brute-force clip (not checked for the Super Cauchy, whose sample optimum scatters by several per cent
     * from seed to seed, see {@link #superCauchySampleOptimumScatters}). The folded half model
     * ("patent-folded") is printed beside it: it reads the peaked channel as a centred PDF with the RMS as its
     * std, and at 4 bits its range is 8 to 50 % too wide for every unbounded family.
     */
    @ParameterizedTest(name = "{0} mean={1}std M={2}")
    @MethodSource("rectifiedCases")
    @Tag("slow")
    void rectifiedChannelsFirstRangeMatchesTheOptimum(PdfFamily family, double meanInStd, int bits) {
        double std = 1.5;
        double mean = meanInStd * std;
        double step = 1.0 / new QuantGrid(bits, false).qmax();
        double trueOpt = FamilyTables.oneSidedOptimalClip(family, mean, std, step, ClipError.NoiseWeight.INSIDE_ONLY);
        RealDistribution truth = family.create(mean, std);
        double tailShare = 1 - truth.cumulativeProbability(trueOpt);
        int n = (int) Math.max(400_000, Math.min(4_000_000, 200 / Math.max(tailShare, 1e-12)));
        float[] v = Samples.draw(family, mean, std, n, 17L * bits + family.ordinal() + (meanInStd > 0 ? 0 : 1000));
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.max(0, v[i]);
        }
        ChannelStatistics s = Samples.statistics(v);
        QuantGrid grid = new QuantGrid(bits, false);
        FittedPdfRangeSolver.Result r = FittedPdfRangeSolver.maximumLikelihood().solveDetailed(s, grid);
        FittedPdfRangeSolver.Result folded = ((FittedPdfRangeSolver) RangeMethods.byName("patent-folded"))
                .solveDetailed(s, grid);
        double first = r.firstInChannelUnits();
        double firstFolded = folded.firstInChannelUnits();
        double[] bf = bruteForce(v, trueOpt, step, true);
        double beyond = n * (1 - truth.cumulativeProbability(bf[0]));
        System.out.printf("rectified %-18s mean=%+.1fstd M=%d fit=%-18s offset=%+.3f first=%.4f trueOpt=%.4f"
                + " bf=%.4f (tail %.0f) err=%+.2f%% mse+%.3f%% | folded fit=%-18s first=%.4f err=%+.2f%% mse+%.3f%%%n",
                family, meanInStd, bits, r.fit().family(), r.fit().offset() * r.fit().scale(), first, trueOpt, bf[0],
                beyond, 100 * (first / trueOpt - 1), 100 * (sampleMse(v, first, step, true) / bf[1] - 1),
                folded.fit().family(), firstFolded, 100 * (firstFolded / trueOpt - 1),
                100 * (sampleMse(v, firstFolded, step, true) / bf[1] - 1));
        assertEquals(trueOpt, first, 0.02 * trueOpt, "first range vs the true law's optimum");
        if (beyond >= 150) {
            assertTrue(sampleMse(v, first, step, true) <= 1.01 * bf[1], "sample MSE within 1 % of its minimum");
            if (family != PdfFamily.SUPER_CAUCHY) {
                assertEquals(bf[0], first, 0.02 * bf[0], "first range vs the sample optimum");
            }
        }
    }

    /**
     * Compares the point sets of the second range: for each family (two-sided, std 1.5, 200,000 samples) at
     * M = 4 and 8, plus two misfits (a Gaussian with a 1 % component 6 times wider, and with 0.2 % 20 times
     * wider), the sample MSE of the corrected range relative to the sample MSE of the first range alone.
     * Numbers are printed (and quoted in {@link FittedPdfRangeSolver}'s doc).
     */
    @org.junit.jupiter.api.Test
    void pointSetComparison() {
        FittedPdfRangeSolver.PointSet[] sets = FittedPdfRangeSolver.PointSet.values();
        double[] worst = new double[sets.length];
        double[] sum = new double[sets.length];
        int cases = 0;
        double misfitRescue = Double.NaN;
        for (int d = 0; d < PdfFamily.values().length + 2; d++) {
            String name;
            float[] v;
            if (d < PdfFamily.values().length) {
                PdfFamily family = PdfFamily.values()[d];
                name = family.toString();
                v = Samples.draw(family, 0, 1.5, 200_000, 77L + family.ordinal());
            } else {
                // misfit: a Gaussian body with a 1 % (resp. 0.2 %) component 6 (resp. 20) times wider
                double wide = d == PdfFamily.values().length ? 6 : 20;
                double share = d == PdfFamily.values().length ? 0.01 : 0.002;
                name = "GAUSS+" + share + "x" + (int) wide;
                v = Samples.draw(PdfFamily.GAUSSIAN, 0, 1.5, 200_000, 99L + d);
                java.util.Random r = new java.util.Random(d);
                for (int i = 0; i < v.length; i++) {
                    if (r.nextDouble() < share) {
                        v[i] *= wide;
                    }
                }
            }
            ChannelStatistics s = Samples.statistics(v);
            for (int bits : new int[] {4, 8}) {
                QuantGrid grid = new QuantGrid(bits, true);
                StringBuilder line = new StringBuilder(String.format("points %-18s M=%d", name, bits));
                double base = Double.NaN;
                for (int k = 0; k < sets.length; k++) {
                    FittedPdfRangeSolver solver = new FittedPdfRangeSolver(new org.quant4j.range.pdf.PdfFitter(),
                            ClipError.NoiseWeight.INSIDE_ONLY, sets[k]);
                    FittedPdfRangeSolver.Result r = solver.solveDetailed(s, grid);
                    double firstA = Math.min(r.firstInChannelUnits() + Math.abs(r.fit().location()),
                            Math.max(-s.min(), s.max()));
                    if (k == 0) {
                        base = sampleMse(v, firstA, r.stepPerClip(), false);
                        line.append(String.format(" fit=%s", r.fit().family()));
                    }
                    double mse = sampleMse(v, r.range().magnitude(), r.stepPerClip(), false);
                    double rel = mse / base - 1;
                    worst[k] = Math.max(worst[k], rel);
                    sum[k] += rel;
                    line.append(String.format(" | %s a1=%.2f a2=%.2f mse%+.1f%%", sets[k].name().substring(0, 9),
                            r.first(), r.second(), 100 * rel));
                    if (k == sets.length - 1) {
                        double[] bf = bruteForce(v, firstA, r.stepPerClip(), false);
                        line.append(String.format(" | first vs sample optimum: mse%+.1f%%", 100 * (base / bf[1] - 1)));
                    }
                    // Claim 7: the correction only ever widens the first range (the clip the solver returns, in
                    // channel units, against the first range computed here from the fit; equal within float rounding).
                    assertTrue(r.range().magnitude() >= firstA * (1 - 1e-4), name + " M=" + bits + ": range "
                            + r.range() + " narrower than the first range " + firstA);
                    if (name.startsWith("GAUSS+0.01") && bits == 8 && k == 0) {
                        misfitRescue = rel;
                    }
                }
                cases++;
                System.out.println(line);
            }
        }
        for (int k = 0; k < sets.length; k++) {
            System.out.printf("points %s: mean MSE increase over the first range %+.2f%%, worst %+.2f%%%n", sets[k],
                    100 * sum[k] / cases, 100 * worst[k]);
        }
        // The default set rescues the misfit the first range alone gets wrong (moments only cannot: their points
        // sit inside the fitted body), at a lower average cost than the quantiles and extremes alone.
        assertTrue(misfitRescue < -0.5, "second range rescues the contaminated Gaussian at 8 bits: " + misfitRescue);
        assertTrue(sum[0] < sum[2], "default point set cheaper on average than quantiles and extremes alone");
    }

    /**
     * The tabulated evaluation (the default) against the exact one (the oracle), channel by channel: each family
     * two-sided and post-ReLU at 2,000, 20,000 and 200,000 samples, plus the contaminated Gaussians of
     * {@link #pointSetComparison}, at M = 4 and 8.
     */
    @org.junit.jupiter.api.Test
    void tabulatedMatchesExact() {
        FittedPdfRangeSolver fast = FittedPdfRangeSolver.maximumLikelihood();
        FittedPdfRangeSolver exact = FittedPdfRangeSolver.exact();
        int cases = 0;
        int sameFamily = 0;
        double worstSame = 0;
        double worstAny = 0;
        java.util.List<String> differ = new java.util.ArrayList<>();
        for (int d = 0; d < PdfFamily.values().length + 2; d++) {
            for (int n : new int[] {2_000, 20_000, 200_000}) {
                float[] v;
                if (d < PdfFamily.values().length) {
                    v = Samples.draw(PdfFamily.values()[d], 0.2, 1.5, n, 1234L + 10 * d + n);
                } else {
                    double wide = d == PdfFamily.values().length ? 6 : 20;
                    double share = d == PdfFamily.values().length ? 0.01 : 0.002;
                    v = Samples.draw(PdfFamily.GAUSSIAN, 0.2, 1.5, n, 99L + d + n);
                    java.util.Random r = new java.util.Random(d + n);
                    for (int i = 0; i < v.length; i++) {
                        if (r.nextDouble() < share) {
                            v[i] *= wide;
                        }
                    }
                }
                for (boolean relu : new boolean[] {false, true}) {
                    float[] x = v.clone();
                    if (relu) {
                        for (int i = 0; i < x.length; i++) {
                            x[i] = Math.max(0, x[i]);
                        }
                    }
                    ChannelStatistics s = Samples.statistics(x);
                    for (int bits : new int[] {4, 8}) {
                        QuantGrid grid = new QuantGrid(bits, !relu);
                        FittedPdfRangeSolver.Result a = exact.solveDetailed(s, grid);
                        FittedPdfRangeSolver.Result b = fast.solveDetailed(s, grid);
                        double rel = Math.abs(b.range().magnitude() / a.range().magnitude() - 1);
                        cases++;
                        worstAny = Math.max(worstAny, rel);
                        if (a.fit().family() == b.fit().family()) {
                            sameFamily++;
                            worstSame = Math.max(worstSame, rel);
                        } else {
                            differ.add(String.format("d=%d n=%d relu=%b M=%d exact=%s fast=%s range %+.2f%%", d, n,
                                    relu, bits, a.fit().family(), b.fit().family(), 100 * rel));
                        }
                    }
                }
            }
        }
        System.out.printf("tabulated vs exact: %d cases, same family %d, worst range difference %.4f%% (same family),"
                + " %.2f%% (any)%n", cases, sameFamily, 100 * worstSame, 100 * worstAny);
        differ.forEach(line -> System.out.println("  family differs: " + line));
        assertTrue(worstSame < 1e-6, "same family: same range within 1e-6, got " + worstSame);
        assertTrue(sameFamily >= 0.95 * cases, "same family in 95 % of the cases: " + sameFamily + "/" + cases);
    }

    private static final org.apache.commons.math3.analysis.integration.gauss.GaussIntegrator GL =
            new org.apache.commons.math3.analysis.integration.gauss.GaussIntegratorFactory().legendre(24, 0, 1);

    /** integral_lo^hi (x - q)^2 p(x) dx by 24-point Gauss-Legendre. */
    private static double squaredError(RealDistribution p, double lo, double hi, double q) {
        double w = hi - lo;
        double s = 0;
        for (int i = 0; i < GL.getNumberOfPoints(); i++) {
            double x = lo + w * GL.getPoint(i);
            s += GL.getWeight(i) * (x - q) * (x - q) * p.density(x);
        }
        return s * w;
    }

    /**
     * The exact expected MSE under p of the grid {@link #sampleMse} uses (levels k Delta, Delta = c a, clamped to
     * [-a, a], or to [0, a] for max(0, x)): cell by cell instead of E(a)'s Delta^2 / 12.
     */
    static double exactGridMse(RealDistribution p, double a, double stepPerClip, boolean oneSided) {
        double d = stepPerClip * a;
        int k = (int) Math.round(1 / stepPerClip);
        double s = squaredError(p, 0, d / 2, 0);
        for (int j = 1; j < k; j++) {
            for (int part = 0; part < 4; part++) {
                double lo = (j - 0.5) * d + part * d / 4;
                s += squaredError(p, lo, lo + d / 4, j * d);
            }
        }
        for (int part = 0; part < 4; part++) {
            double lo = (k - 0.5) * d + part * d / 8;
            s += squaredError(p, lo, lo + d / 8, a);
        }
        s += ClipError.clippingMoment(p, a);
        return oneSided ? s : 2 * s;
    }

    /**
     * Is E(a)'s noise model (Delta^2 / 12 on the unclipped share) what moves the first range? Against the optimum
     * of the exact expected MSE of the true law on the real grid, for each family (std 1.5) at M = 3, 4, 6 two-sided
     * and post-ReLU: measured within 0.03 % everywhere except Laplace at M = 3 (-1.1 %, its kink in a 0.7 sigma
     * step) and M = 4 (-0.4 %), and the Super Cauchy at M = 3 (-1.0 %) and M = 4 (-0.2 %). So for the Super
     * Cauchy at 4 and 6 bits E(a) is not the cause of the misses against the sample optimum.
     */
    @org.junit.jupiter.api.Test
    void firstRangeIsTheExactGridOptimum() {
        for (PdfFamily f : PdfFamily.values()) {
            RealDistribution p = f.create(0, 1.5);
            for (int bits : new int[] {3, 4, 6}) {
                for (boolean one : new boolean[] {false, true}) {
                    double step = one ? ClipError.oneSidedStep(bits) : ClipError.symmetricStep(bits);
                    double aE = ClipError.optimalClip(p, step, ClipError.NoiseWeight.INSIDE_ONLY);
                    double aX = new org.apache.commons.math3.optim.univariate.BrentOptimizer(1e-9, 1e-12).optimize(
                            new org.apache.commons.math3.optim.MaxEval(200),
                            org.apache.commons.math3.optim.nonlinear.scalar.GoalType.MINIMIZE,
                            new org.apache.commons.math3.optim.univariate.SearchInterval(0.8 * aE, 1.25 * aE, aE),
                            new org.apache.commons.math3.optim.univariate.UnivariateObjectiveFunction(
                                    a -> exactGridMse(p, a, step, one))).getPoint();
                    double diff = aE / aX - 1;
                    System.out.printf("exact-grid %-18s M=%d %s E(a) optimum %.4f exact-grid optimum %.4f %+.2f%%%n",
                            f, bits, one ? "relu" : "two ", aE, aX, 100 * diff);
                    boolean coarse = bits == 3 && !one;
                    double tol = coarse ? 0.015 : f == PdfFamily.LAPLACE ? 0.006 : 0.003;
                    assertEquals(0, diff, tol, f + " M=" + bits + (one ? " relu" : ""));
                }
            }
        }
    }

    /**
     * The sample optimum of the Super Cauchy post-ReLU at M = 4 (the test's worst miss, -4.8 %) over 8 seeds at
     * the sample size of {@link #firstRangeMatchesBruteForceOnSamples}: centred on the true law's optimum, but
     * scattered so that the perfect answer misses 2 % for several seeds. Laplace at M = 4, alongside, scatters by
     * about 0.4 %.
     */
    @org.junit.jupiter.api.Test
    void superCauchySampleOptimumScatters() {
        RealDistribution truth = PdfFamily.SUPER_CAUCHY.create(0, 1.5);
        double step = ClipError.oneSidedStep(4);
        double opt = ClipError.optimalClip(truth, step, ClipError.NoiseWeight.INSIDE_ONLY);
        int n = (int) Math.max(400_000, Math.min(4_000_000, 200 / (1 - truth.cumulativeProbability(opt))));
        org.apache.commons.math3.stat.descriptive.SummaryStatistics dev =
                new org.apache.commons.math3.stat.descriptive.SummaryStatistics();
        int misses = 0;
        for (int seed = 0; seed < 8; seed++) {
            float[] v = Samples.draw(PdfFamily.SUPER_CAUCHY, 0, 1.5, n, 1000 + seed * 7919L);
            for (int i = 0; i < v.length; i++) {
                v[i] = Math.max(0, v[i]);
            }
            double sampleOpt = bruteForce(v, opt, step, true)[0];
            double rel = opt / sampleOpt - 1;
            dev.addValue(rel);
            misses += Math.abs(rel) > 0.02 ? 1 : 0;
        }
        System.out.printf("Super Cauchy M=4 post-ReLU, n=%d, 8 seeds: true optimum vs sample optimum mean %+.2f%%,"
                + " sd %.2f%%, %d of 8 beyond 2 %%%n", n, 100 * dev.getMean(), 100 * dev.getStandardDeviation(), misses);
        assertTrue(misses >= 2, "the true optimum misses the sample optimum by > 2 % for several seeds: " + misses);
        assertTrue(Math.abs(dev.getMean()) < 0.03, "centred on the true optimum: " + dev.getMean());
    }

    /**
     * A post-ReLU channel that is almost always zero (UNet's zoo model has such channels; 4,000,000 values, a few non-zero,
     * failed before the fix): a zero fraction that puts
     * a family's zero point at or past the end of its support leaves that family's rectified member no positive part;
     * the member is not fitted, and the channel still gets a range within what was observed.
     */
    @Test
    void almostAlwaysZeroChannelsGetARange() {
        java.util.Random random = new java.util.Random(7);
        for (int positives : new int[] {1, 3, 10, 40}) {
            float[] v = new float[4_000_000];
            for (int i = 0; i < positives; i++) {
                v[random.nextInt(v.length)] = (float) (0.1 + random.nextDouble());
            }
            ChannelStatistics s = Samples.statistics(v);
            for (int bits : new int[] {4, 8}) {
                for (FittedPdfRangeSolver solver : List.of(new FittedPdfRangeSolver(), FittedPdfRangeSolver.maximumLikelihood())) {
                    ClipRange r = solver.solve(s, new QuantGrid(bits, false));
                    assertTrue(r.hi() > 0 && r.hi() <= s.max() + 1e-9, positives + " positives, " + bits + " bits: "
                            + r + " (max " + s.max() + ")");
                }
            }
        }
    }
}
