package org.quant4j.convert;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;

/** The class indices an embedding layer reads. */
final class Embeddings {

    private Embeddings() {
    }

    /**
     * {@code x} as INT32 row indices, clipped into [0, rows - 1]: libnd4j's gather reads out of bounds (the JVM
     * crashes) on an index outside the table, where DL4J throws; a clipped index reads the first or last row.
     */
    static SDVariable indices(LayerContext<?> c, SDVariable x, long rows) {
        SDVariable clipped = c.graph().math.clipByValue(c.inner("index_range"), x, 0, rows - 1);
        return clipped.castTo(DataType.INT32);
    }
}
