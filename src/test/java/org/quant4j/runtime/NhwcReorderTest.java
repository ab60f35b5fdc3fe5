package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** NCHW arrays into NHWC buffers through oneDNN, against ND4J's own permute and copy: dense arrays and views. */
class NhwcReorderTest {

    private static float[] expected(INDArray nchw) {
        return nchw.castTo(DataType.FLOAT).permute(0, 2, 3, 1).dup('c').data().asFloat();
    }

    private static float[] actual(NhwcReorder reorder, INDArray nchw) {
        try (PlanBuffers buffers = new PlanBuffers()) {
            FloatPointer p = reorder.toNhwc(nchw, buffers);
            float[] out = new float[(int) nchw.length()];
            p.get(out);
            return out;
        }
    }

    /** Few channels (interleaved in Java, over several chunks of pixels) and many (oneDNN's reorder). */
    @Test
    void denseArraysAndViewsGiveNd4jsPermutation() {
        Nd4j.getRandom().setSeed(3);
        for (long[] shape : new long[][] {{2, 3, 5, 7}, {2, 3, 70, 90}, {2, 16, 5, 7}}) {
            long c = shape[1];
            long h = shape[2];
            long w = shape[3];
            try (NhwcReorder reorder = new NhwcReorder(shape)) {
                INDArray dense = Nd4j.rand(DataType.FLOAT, shape);
                assertArrayEquals(expected(dense), actual(reorder, dense), 0f);
                // a view with an offset: the second half of a larger batch
                INDArray larger = Nd4j.rand(DataType.FLOAT, 4, c, h, w);
                INDArray half = larger.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all(), NDArrayIndex.all(),
                        NDArrayIndex.all());
                assertArrayEquals(expected(half), actual(reorder, half), 0f);
                // a permuted view (strides not C order), and another data type
                INDArray permuted = Nd4j.rand(DataType.FLOAT, 2, h, w, c).permute(0, 3, 1, 2);
                assertArrayEquals(expected(permuted), actual(reorder, permuted), 0f);
                INDArray doubles = Nd4j.rand(DataType.DOUBLE, shape);
                assertArrayEquals(expected(doubles), actual(reorder, doubles), 0f);
                assertThrows(IllegalArgumentException.class, () -> reorder.toNhwc(Nd4j.rand(DataType.FLOAT, 2, c, w + 1,
                        h), new PlanBuffers()));
            }
        }
    }
}
