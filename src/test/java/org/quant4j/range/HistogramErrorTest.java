package org.quant4j.range;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.range.pdf.PdfFamily;
import org.quant4j.range.pdf.Samples;

class HistogramErrorTest {

    /**
     * The running-sum evaluation equals the bin-by-bin one ({@link MseSolver#expectedError}) to 1e-9 relative:
     * two-sided, post-ReLU, sparse and far-from-zero channels, signed and unsigned grids of 2 to 8 bits, clips from
     * a hundredth of the data's extreme (nearly everything clipped) to twice it (nothing clipped), and zero.
     */
    @Test
    void equalsTheBinByBinError() {
        Random r = new Random(9);
        int checked = 0;
        for (int d = 0; d < 12; d++) {
            PdfFamily family = PdfFamily.values()[d % PdfFamily.values().length];
            float[] v = Samples.draw(family, d % 3 == 2 ? 5.0 : 0.0, 0.5 + d, 20_000 + 1000 * d, 100 + d);
            if (d % 3 == 1) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = Math.max(0, v[i]); // post-ReLU, with a block of exact zeros
                }
            }
            ChannelStatistics s = Samples.statistics(v);
            HistogramError fast = new HistogramError(s.histogram());
            double extreme = Math.max(Math.abs(s.min()), Math.abs(s.max()));
            for (int bits = 2; bits <= 8; bits++) {
                for (boolean signed : new boolean[] {true, false}) {
                    QuantGrid grid = new QuantGrid(bits, signed);
                    for (int t = 0; t < 12; t++) {
                        double a = t == 0 ? 0 : extreme * (t == 1 ? 0.01 : 2 * r.nextDouble());
                        double exact = MseSolver.expectedError(s.histogram(), a, grid);
                        double got = fast.at(a, grid);
                        assertEquals(exact, got, 1e-9 * exact + 1e-300,
                                family + " d=" + d + " M=" + bits + (signed ? " signed" : " unsigned") + " a=" + a);
                        checked++;
                    }
                }
            }
        }
        assertEquals(12 * 7 * 2 * 12, checked);
    }
}
