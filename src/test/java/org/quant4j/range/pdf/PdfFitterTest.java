package org.quant4j.range.pdf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.quant4j.calib.ChannelStatistics;

/**
 * Family picks on seeded channels. Measured pick counts out of 50 channels (two-sided / post-ReLU, where the
 * ReLU leaves about half the values):
 * <pre>
 *   n = 10,000: every family 50/50 both ways (asserted below, >= 90 %).
 *   n =  3,000: all >= 49/50 two-sided; post-ReLU: hyperbolic secant 46 (4 logistic), logistic 46 (4 sech),
 *               Laplace 48 (2 sech), Super Cauchy 49.
 *   n =  1,000: two-sided: sech 46 (4 logistic), logistic 44 (6 sech), Super Cauchy 44 (5 Laplace), others 50.
 *               post-ReLU: sech 34 (12 logistic, 4 Laplace), logistic 38 (7 sech, 5 Gaussian).
 *   n =    300: the heavy-tailed four (Laplace, sech, logistic, Super Cauchy) mix with their neighbours in
 *               kurtosis (sech 29, logistic 25 two-sided); semicircle vs uniform mix post-ReLU (30 vs 15).
 * </pre>
 * So the pairs that are not distinguishable at small n are neighbours in kurtosis with the same kind of tail:
 * logistic (4.2) vs hyperbolic secant (5), hyperbolic secant vs Laplace (6) and, post-ReLU where the cusp of
 * the Laplace at 0 is folded away, Laplace vs Super Cauchy through their tails; and, post-ReLU, the semicircle
 * vs the uniform, whose difference sits at the edges that few samples reach. At n = 1,000 two-sided, all
 * families are still picked >= 85 % of the time (asserted).
 */
class PdfFitterTest {

    static final int CHANNELS = 50;
    static final int SAMPLES = 10_000;

    /** Pick counts per family on CHANNELS channels of SAMPLES values of {@code truth}. */
    static Map<PdfFamily, Integer> picks(PdfFamily truth, boolean oneSided) {
        return picks(truth, oneSided, SAMPLES);
    }

    static Map<PdfFamily, Integer> picks(PdfFamily truth, boolean oneSided, int samples) {
        PdfFitter fitter = new PdfFitter();
        Map<PdfFamily, Integer> counts = new EnumMap<>(PdfFamily.class);
        for (int c = 0; c < CHANNELS; c++) {
            double std = 0.5 + 0.1 * c;
            double mean = oneSided ? 0 : 0.2 * (c % 5 - 2) * std; // two-sided: the channel straddles 0
            float[] v = Samples.draw(truth, mean, std, samples, 1000L * truth.ordinal() + c);
            if (oneSided) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = Math.max(0, v[i]); // ReLU of a centred channel
                }
            }
            PdfFit fit = fitter.fit(Samples.statistics(v));
            counts.merge(fit.family(), 1, Integer::sum);
        }
        return counts;
    }

    @ParameterizedTest
    @EnumSource(PdfFamily.class)
    void picksTheRightFamilyMostlyAtSmallN(PdfFamily truth) {
        Map<PdfFamily, Integer> two = picks(truth, false, 1000);
        assertTrue(two.getOrDefault(truth, 0) >= 0.85 * CHANNELS, truth + " at n=1000 picked " + two);
    }

    @Test
    void normalizesAndSetsZerosAside() {
        float[] v = Samples.draw(PdfFamily.GAUSSIAN, 0, 2.0, 20_000, 7);
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.max(0, v[i]);
        }
        ChannelStatistics s = Samples.statistics(v);
        PdfFit fit = new PdfFitter().fit(s);
        assertEquals(PdfFit.Side.NON_NEGATIVE, fit.side());
        assertEquals(0.5, fit.zeroFraction(), 0.02);
        assertEquals(2.0, fit.scale(), 0.05); // RMS of the non-zero half = std of the parent
        assertEquals(PdfFamily.GAUSSIAN, fit.family());
        assertEquals(3.0, fit.kurtosis(), 0.2); // of the mirrored data: the parent's kurtosis
        assertEquals(3.0, fit.toChannel(1.5), 0.1);
        for (int i = 0; i < v.length; i++) {
            v[i] = -v[i];
        }
        PdfFit neg = new PdfFitter().fit(Samples.statistics(v));
        assertEquals(PdfFit.Side.NON_POSITIVE, neg.side());
        assertEquals(PdfFamily.GAUSSIAN, neg.family());
        assertEquals(-3.0, neg.toChannel(1.5), 0.1);
    }

    /**
     * ReLU of a Gaussian or Laplace with mean +1.5 std (peaked away from zero) and -1 std (sparse): the fit picks
     * the family and its rectified member, whose mean and std are the generating ones; the binned fit agrees. (The
     * sparse Laplace is the exception: its part past zero is an exponential, exactly the folded member.)
     */
    @Test
    void recognizesRectifiedChannels() {
        for (PdfFamily family : new PdfFamily[] {PdfFamily.GAUSSIAN, PdfFamily.LAPLACE}) {
            for (double mean : new double[] {3.0, -2.0}) {
                float[] v = Samples.draw(family, mean, 2.0, 100_000, 11);
                for (int i = 0; i < v.length; i++) {
                    v[i] = Math.max(0, v[i]);
                }
                ChannelStatistics s = Samples.statistics(v);
                for (PdfFit fit : new PdfFit[] {new PdfFitter().fit(s), new PdfFitter().fitBinned(s,
                        s.cumulativeCounts())}) {
                    String what = family + " mean " + mean + ": " + fit;
                    assertEquals(family, fit.family(), what);
                    if (family == PdfFamily.LAPLACE && mean < 0) {
                        // the Laplace's tail past its mean is exponential and memoryless: the rectified member and
                        // the folded one are the same density, the fit keeps the folded one
                        continue;
                    }
                    assertEquals(mean, fit.offset() * fit.scale(), 0.1, what);
                    assertEquals(2.0, fit.spread() * fit.scale(), 0.1, what);
                    assertEquals(family.create(mean, 2.0).cumulativeProbability(0), fit.zeroFraction(), 0.01, what);
                }
                assertEquals(0, new PdfFitter(List.of(PdfFamily.values()), false).fit(s).offset(),
                        "without rectified members: " + family + " mean " + mean);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(PdfFamily.class)
    void picksTheRightFamily(PdfFamily truth) {
        Map<PdfFamily, Integer> two = picks(truth, false);
        Map<PdfFamily, Integer> one = picks(truth, true);
        System.out.printf("%-18s two-sided %s%n%-18s post-ReLU %s%n", truth, two, "", one);
        double rate = two.getOrDefault(truth, 0) / (double) CHANNELS;
        double rateOne = one.getOrDefault(truth, 0) / (double) CHANNELS;
        assertTrue(rate >= 0.9, truth + " two-sided picked " + two);
        assertTrue(rateOne >= 0.9, truth + " post-ReLU picked " + one);
    }
}
