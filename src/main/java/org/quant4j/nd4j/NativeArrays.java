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
}
