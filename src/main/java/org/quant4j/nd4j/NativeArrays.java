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

    /** Values per block of {@link #rowBlocks}: 8 MB in double. */
    public static final long BLOCK_VALUES = 1L << 20;

    /**
     * {@code a} (rank at least 1) cut along its first dimension into views of consecutive rows, each of at most
     * {@link #BLOCK_VALUES} values (one row at least): for reductions in double precision whose temporaries should
     * not be the size of a whole batch's activations in double (eight times a float array of eight examples).
     */
    public static java.util.List<INDArray> rowBlocks(INDArray a) {
        long rows = a.size(0);
        long perRow = rows == 0 ? 1 : Math.max(1, a.length() / rows);
        long step = Math.max(1, BLOCK_VALUES / perRow);
        if (step >= rows) {
            return java.util.List.of(a);
        }
        java.util.List<INDArray> blocks = new java.util.ArrayList<>();
        for (long from = 0; from < rows; from += step) {
            blocks.add(rows(a, from, Math.min(rows, from + step)));
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
