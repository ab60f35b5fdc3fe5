package org.quant4j.calib;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChannelStatisticsTest {

    /** Exact (two-pass, compensated) reference moments of the values. */
    private static double[] reference(float[] v) {
        double sum = 0;
        for (float x : v) {
            sum += x;
        }
        double mu = sum / v.length;
        double[] m = new double[7];
        m[1] = mu;
        for (float x : v) {
            double d = x - mu;
            for (int p = 2; p <= 6; p++) {
                m[p] += Math.pow(d, p);
            }
        }
        return m;
    }

    private static void assertClose(double expected, double actual, double rel, String what) {
        double tol = rel * Math.max(1e-300, Math.abs(expected));
        assertEquals(expected, actual, tol, what);
    }

    private static float[] skewedData(int n, long seed, double shift) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (shift - Math.log(1 - r.nextDouble()) * 3.0); // exponential, mean 3, far from 0
        }
        return v;
    }

    @Test
    void momentsMatchTwoPassReferenceOnShiftedSkewedData() {
        float[] v = skewedData(200_000, 1, 1000.0);
        ChannelStatistics s = new ChannelStatistics();
        for (int i = 0; i < v.length; i += 777) { // chunks of an awkward size
            s.accept(v, i, Math.min(v.length, i + 777));
        }
        double[] ref = reference(v);
        assertEquals(v.length, s.count());
        assertClose(ref[1], s.mean(), 1e-12, "mean");
        for (int p = 2; p <= 6; p++) {
            assertClose(ref[p], s.centralSum(p), 1e-8, "M" + p);
        }
        // Exponential: skewness 2, kurtosis 9, standardized 5th 44, standardized 6th 265.
        assertEquals(2.0, s.skewness(), 0.1);
        assertEquals(9.0, s.kurtosis(), 1.0);
        assertEquals(265, s.hyperKurtosis(), 80);
    }

    @Test
    void mergeOfManyPartsEqualsOnePass() {
        float[] v = skewedData(100_000, 2, -5.0);
        Random r = new Random(3);
        ChannelStatistics one = new ChannelStatistics();
        one.accept(v, 0, v.length);
        List<ChannelStatistics> parts = new ArrayList<>();
        int i = 0;
        while (i < v.length) {
            int len = 1 + r.nextInt(5000);
            ChannelStatistics p = new ChannelStatistics();
            p.accept(v, i, Math.min(v.length, i + len));
            parts.add(p);
            i += len;
        }
        parts.add(new ChannelStatistics()); // an empty one merges as nothing
        // Merge as a tree, in pairs, as parallel calibration would.
        while (parts.size() > 1) {
            List<ChannelStatistics> next = new ArrayList<>();
            for (int j = 0; j + 1 < parts.size(); j += 2) {
                parts.get(j).merge(parts.get(j + 1));
                next.add(parts.get(j));
            }
            if (parts.size() % 2 == 1) {
                next.add(parts.get(parts.size() - 1));
            }
            parts = next;
        }
        ChannelStatistics m = parts.get(0);
        assertEquals(one.count(), m.count());
        assertEquals(one.min(), m.min());
        assertEquals(one.max(), m.max());
        assertClose(one.mean(), m.mean(), 1e-12, "mean");
        for (int p = 2; p <= 6; p++) {
            assertClose(one.centralSum(p), m.centralSum(p), 1e-9, "M" + p);
        }
        assertEquals(v.length, m.histogram().total());
        assertHistogramExact(m.histogram(), v);
    }

    /** Every value must sit in the bin the final layout gives it: growth and merge lose or move nothing. */
    private static void assertHistogramExact(Histogram h, float[] values) {
        long[] direct = new long[h.bins()];
        for (float x : values) {
            long g = (long) Math.floor(x / h.binWidth());
            long k = Math.round(h.low() / h.binWidth());
            direct[(int) (g - k)]++;
        }
        assertArrayEquals(direct, h.counts());
    }

    @Test
    void histogramGrowsWithoutLosingCountsAndMemoryStaysBounded() {
        ChannelStatistics s = new ChannelStatistics();
        int capacity = s.histogramCapacity();
        Random r = new Random(4);
        int n = 1_000_000;
        float[] all = new float[n];
        float[] chunk = new float[1000];
        int at = 0;
        for (int c = 0; c < n / chunk.length; c++) {
            double scale = Math.pow(10, -3 + 9.0 * c / (n / chunk.length)); // ranges grow from 1e-3 to 1e6
            for (int j = 0; j < chunk.length; j++) {
                chunk[j] = (float) (r.nextGaussian() * scale);
                all[at++] = chunk[j];
            }
            s.accept(chunk, 0, chunk.length);
        }
        assertEquals(capacity, s.histogramCapacity());
        assertEquals(ChannelStatistics.DEFAULT_BINS, s.histogram().bins());
        assertEquals(n, s.count());
        assertEquals(n, s.histogram().total());
        assertHistogramExact(s.histogram(), all);
        // The window is the best power-of-two fit: the data spans more than a quarter of it (half per side).
        Histogram h = s.histogram();
        double span = s.max() - s.min();
        assertTrue(span > 0.25 * h.bins() * h.binWidth(), "resolution kept: span " + span + ", width " + h.binWidth());
    }

    @Test
    void aChannelOfZerosFirstThenLargeValuesKeepsEveryCount() {
        // A channel that is all zeros in the first batch (a dead ReLU on one batch) is laid out at the finest bin
        // width; large values later must coarsen it, not overflow its bin indices (seen with ResNet-50).
        ChannelStatistics c = new ChannelStatistics();
        float[] zeros = new float[100];
        c.accept(zeros, 0, zeros.length);
        float[] large = {3.5f, 1e6f, 17f, 0f, 2.5e9f};
        c.accept(large, 0, large.length);
        float[] negative = {-4e7f, -1f};
        c.accept(negative, 0, negative.length);
        assertEquals(107, c.count());
        assertEquals(107, java.util.Arrays.stream(c.histogram().counts()).sum());
        assertEquals(2.5e9, c.max(), 1);
        assertEquals(-4e7, c.min(), 1);
    }

    @Test
    void oneSidedDataUsesAllBinsFromZero() {
        Random r = new Random(5);
        float[] v = new float[50_000];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.max(0, r.nextGaussian());
        }
        ChannelStatistics s = new ChannelStatistics();
        s.accept(v, 0, v.length);
        Histogram h = s.histogram();
        assertEquals(0.0, h.low());
        assertTrue(h.high() >= s.max() && h.high() < 2 * s.max() + h.binWidth());
        assertHistogramExact(h, v);
        // Empirical cdf against the exact fraction.
        float[] sorted = v.clone();
        java.util.Arrays.sort(sorted);
        double q = h.quantile(0.9);
        assertEquals(sorted[(int) (0.9 * v.length)], q, 2 * h.binWidth());
    }

    @Test
    void keepsTheFirstContractAndSkipsNonFinite() {
        ChannelStatistics s = new ChannelStatistics();
        s.accept(new float[] {1f, -2f, 3f}, 0, 3);
        ChannelStatistics t = new ChannelStatistics();
        t.accept(new float[] {7f, Float.NaN, -9f, Float.POSITIVE_INFINITY}, 0, 4);
        s.merge(t);
        assertEquals(5, s.count());
        assertEquals(2, s.skipped());
        assertEquals(-9.0, s.min());
        assertEquals(7.0, s.max());
        assertEquals(0.0, s.mean(), 1e-12);
        assertEquals((1 + 4 + 9 + 49 + 81) / 5.0, s.variance(), 1e-12);
        assertEquals(5, s.histogram().total());
        assertEquals(0, s.zeros());
        s.accept(new float[] {0f, 0f, 1f});
        assertEquals(2, s.zeros());
    }

    @Test
    void foldedMagnitudeHistogramIsExact() {
        Random r = new Random(6);
        float[] v = new float[20_000];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 2 + 0.5);
        }
        ChannelStatistics s = new ChannelStatistics();
        s.accept(v);
        Histogram f = s.histogram().foldMagnitudes();
        assertEquals(0.0, f.low());
        long[] direct = new long[f.bins()];
        for (float x : v) {
            // x in [-(j+1) w, -j w) folds to bin j (a value exactly on a negative edge stays with its own bin)
            long g = (long) Math.floor(x / f.binWidth());
            direct[(int) (g >= 0 ? g : -g - 1)]++;
        }
        assertArrayEquals(direct, f.counts());
    }

    @Test
    void mergeOfObserversWithVeryDifferentRangesIsExact() {
        Random r = new Random(8);
        float[] tiny = new float[5000];
        float[] huge = new float[5000];
        for (int i = 0; i < tiny.length; i++) {
            tiny[i] = (float) (r.nextDouble() * 1e-3);      // one-sided, fine bins
            huge[i] = (float) (r.nextGaussian() * 1e4);     // two-sided, coarse bins
        }
        float[] both = new float[tiny.length + huge.length];
        System.arraycopy(tiny, 0, both, 0, tiny.length);
        System.arraycopy(huge, 0, both, tiny.length, huge.length);
        for (boolean tinyFirst : new boolean[] {true, false}) {
            ChannelStatistics a = new ChannelStatistics();
            ChannelStatistics b = new ChannelStatistics();
            a.accept(tinyFirst ? tiny : huge);
            b.accept(tinyFirst ? huge : tiny);
            a.merge(b);
            assertEquals(both.length, a.count());
            assertEquals(both.length, a.histogram().total());
            assertHistogramExact(a.histogram(), both);
            double[] ref = reference(both);
            assertClose(ref[1], a.mean(), 1e-9, "mean");
            for (int p = 2; p <= 6; p++) {
                assertClose(ref[p], a.centralSum(p), 1e-9, "M" + p);
            }
        }
    }
}
