package org.quant4j.nd4j;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Frees temporary ND4J arrays now instead of when the garbage collector runs their deallocators. ND4J's buffers live
 * in native memory the collector does not see, so weight-sized temporaries (hundreds of MB for a large dense layer)
 * pile up between collections; quant4j closes those it made itself and no longer needs.
 */
public final class NativeArrays {

    private NativeArrays() {
    }

    /**
     * Closes {@code temporary} unless it is null, is one of {@code kept} (an array the caller does not own, which an
     * operation may have returned unchanged, e.g. {@code castTo} to the same type), or cannot be closed (a view, or
     * an array in a workspace).
     */
    public static void release(INDArray temporary, INDArray... kept) {
        if (temporary == null) {
            return;
        }
        for (INDArray k : kept) {
            if (k == temporary) {
                return;
            }
        }
        if (temporary.closeable()) {
            temporary.close();
        }
    }

    /** Values per block of {@link #channelBlocks}: 8 MB in double. */
    public static final long BLOCK_VALUES = 1L << 20;

    /**
     * {@code a} seen as {@code [A, C, B]} ({@code C} its size along {@code axis}, {@code A} and {@code B} the products
     * of the sizes before and after it; {@code C} 1 when {@code axis} is negative) and cut into views of at most
     * {@link #BLOCK_VALUES} values (one value per channel at least): the per-channel sums of {@code a} are the sums of
     * the blocks over their dimensions 0 and 2, its total the sum of the blocks'. For reductions in double precision
     * whose temporaries should not be the size of the tensor in double (a U-Net's 64 x 512 x 512 activation is 134 MB
     * in double, one example).
     */
    public static java.util.List<INDArray> channelBlocks(INDArray a, int axis) {
        long[] shape = a.shape();
        long before = 1;
        long after = 1;
        for (int d = 0; d < shape.length; d++) {
            if (axis >= 0 && d < axis) {
                before *= shape[d];
            } else if (d != axis) {
                after *= shape[d];
            }
        }
        long channels = axis >= 0 ? shape[axis] : 1;
        INDArray view = (a.ordering() == 'c' ? a : a.dup('c')).reshape('c', before, channels, after);
        java.util.List<INDArray> blocks = new java.util.ArrayList<>();
        long perRow = Math.max(1, channels * after);
        if (perRow <= BLOCK_VALUES) {
            long step = Math.max(1, BLOCK_VALUES / perRow);
            for (long from = 0; from < before; from += step) {
                blocks.add(rows(view, from, Math.min(before, from + step)));
            }
            return blocks;
        }
        long width = Math.max(1, BLOCK_VALUES / Math.max(1, channels));
        for (long row = 0; row < before; row++) {
            for (long from = 0; from < after; from += width) {
                blocks.add(view.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(row, row + 1),
                        org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(from, Math.min(after, from + width))));
            }
        }
        return blocks;
    }

    /** Rows {@code [from, to)} of {@code a} along its first dimension: a view. */
    public static INDArray rows(INDArray a, long from, long to) {
        org.nd4j.linalg.indexing.INDArrayIndex[] index = new org.nd4j.linalg.indexing.INDArrayIndex[a.rank()];
        index[0] = org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to);
        for (int d = 1; d < index.length; d++) {
            index[d] = org.nd4j.linalg.indexing.NDArrayIndex.all();
        }
        return a.get(index);
    }
}
