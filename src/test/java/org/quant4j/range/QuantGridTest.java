package org.quant4j.range;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The asymmetric grid's scale and zero point ({@link QuantGrid#affine}). */
class QuantGridTest {

    @Test
    void anOffCentreRangeGetsEveryLevelAndZeroIsALevel() {
        QuantGrid grid = new QuantGrid(8, false);
        QuantGrid.Affine a = grid.affine(new ClipRange(-0.2, 1.0));
        assertEquals((float) (1.2 / 255), a.scale());
        // 0.2 / s with s rounded to float is 42.500004: level 43 stands for 0
        assertEquals(43, a.zeroPoint());
    }

    @Test
    void theGridCoversTheRangeWithinHalfAStep() {
        QuantGrid grid = new QuantGrid(4, false);
        for (double lo : new double[] {-3.0, -1.0, -0.01, 0.0}) {
            for (double hi : new double[] {0.0, 0.02, 1.0, 7.5}) {
                if (hi - lo <= 0) {
                    continue;
                }
                QuantGrid.Affine a = grid.affine(new ClipRange(lo, hi));
                double bottom = a.scale() * (0 - a.zeroPoint());
                double top = a.scale() * (grid.qmax() - a.zeroPoint());
                String what = "[" + lo + ", " + hi + "]: " + a;
                assertTrue(Math.abs(bottom - lo) <= a.scale() * 0.500001, what);
                assertTrue(Math.abs(top - hi) <= a.scale() * 0.500001, what);
                assertTrue(a.zeroPoint() >= 0 && a.zeroPoint() <= grid.qmax(), what);
            }
        }
        // one-sided ranges: zero point at an end, the unsigned grid's scale for [0, hi]
        assertEquals(0, grid.affine(new ClipRange(0, 3)).zeroPoint());
        assertEquals((float) (3.0 / 15), grid.affine(new ClipRange(0, 3)).scale());
        assertEquals(15, grid.affine(new ClipRange(-3, 0)).zeroPoint());
    }

    @Test
    void anEmptyRangeAndASignedGrid() {
        assertEquals(new QuantGrid.Affine(Float.MIN_NORMAL, 0), new QuantGrid(8, false).affine(new ClipRange(0, 0)));
        assertThrows(IllegalStateException.class, () -> new QuantGrid(8, true).affine(new ClipRange(-1, 1)));
    }
}
