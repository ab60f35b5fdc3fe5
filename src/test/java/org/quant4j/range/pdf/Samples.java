package org.quant4j.range.pdf;

import org.apache.commons.math3.distribution.RealDistribution;
import org.apache.commons.math3.random.JDKRandomGenerator;
import org.quant4j.calib.ChannelStatistics;

/** Seeded samples of the families, for tests. */
public final class Samples {

    private Samples() {
    }

    /** n values of the family with the given mean and std, seeded. */
    public static float[] draw(PdfFamily family, double mean, double std, int n, long seed) {
        RealDistribution d = family.create(new JDKRandomGenerator((int) seed), mean, std);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) d.sample();
        }
        return v;
    }

    /** Statistics of the values, fed in chunks of 1000 as calibration would. */
    public static ChannelStatistics statistics(float[] v) {
        ChannelStatistics s = new ChannelStatistics();
        for (int i = 0; i < v.length; i += 1000) {
            s.accept(v, i, Math.min(v.length, i + 1000));
        }
        return s;
    }
}
