package org.quant4j.memory;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.ArraysOnce;

/**
 * What {@link ArraysOnce} is for, measured: a constant set in a graph with SameDiff M2.1's default array holders
 * raises the resident set by its own size again (a second copy beside the array it hands out), and by nothing in a
 * graph whose holders {@code ArraysOnce} made plain.
 */
@Tag("memory")
class ArraysOnceMemoryTest {

    private static final long MB = 1L << 20;
    /** The constant: 64 MB of floats. */
    private static final long[] SHAPE = {4096, 4096};

    @Test
    void aConstantIsKeptOnceInsteadOfTwice() {
        ProcessMemory.assumeMemoryTestJvm();
        long constant = SHAPE[0] * SHAPE[1] * 4;
        long byDefault = residentGrowth(SameDiff.create());
        long once = residentGrowth(ArraysOnce.keep(SameDiff.create()));
        assertTrue(byDefault > constant * 3 / 4, "SameDiff's default holders: +" + byDefault / MB
                + " MB for a " + constant / MB + " MB constant (a copy of it expected)");
        assertTrue(once < constant / 4, "plain holders: +" + once / MB + " MB for a " + constant / MB
                + " MB constant (no copy expected)");
    }

    /** The resident set's growth when a new constant is set in {@code sd}, which must hand the same array back. */
    private static long residentGrowth(SameDiff sd) {
        INDArray w = Nd4j.rand(DataType.FLOAT, SHAPE);
        long before = ProcessMemory.settled().residentBytes();
        sd.constant("w", w);
        long after = ProcessMemory.settled().residentBytes();
        assertSame(w, sd.getArrForVarName("w"), "the graph hands out the array it was given");
        return after - before;
    }
}
