package org.quant4j.nd4j;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reusable double-precision arrays for reductions done block by block ({@link NativeArrays#rowBlocks}): a block's
 * values are converted into a held array of its shape instead of a new one per block and step (each new native
 * array is mapped and touched afresh); the blocks of one tensor all have the same shape but the last.
 */
public final class DoubleScratch implements AutoCloseable {

    private final INDArray[] slots;

    /** Scratch with {@code slots} arrays. */
    public DoubleScratch(int slots) {
        this.slots = new INDArray[slots];
    }

    /**
     * {@code values} converted to double (exact from float) in slot {@code slot}'s array, which is reused while the
     * shape stays the same; valid until the slot is used again.
     */
    public INDArray copy(int slot, INDArray values) {
        INDArray held = slots[slot];
        if (held == null || !Arrays.equals(held.shape(), values.shape())) {
            NativeArrays.release(held);
            held = Nd4j.createUninitialized(DataType.DOUBLE, values.shape(), 'c');
            slots[slot] = held;
        }
        held.assign(values);
        return held;
    }

    /** Frees the held arrays. */
    @Override
    public void close() {
        for (int i = 0; i < slots.length; i++) {
            NativeArrays.release(slots[i]);
            slots[i] = null;
        }
    }
}
