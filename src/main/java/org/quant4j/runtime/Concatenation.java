package org.quant4j.runtime;

import java.util.Arrays;
import org.bytedeco.dnnl.concat;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.Pointer;

/**
 * Concatenation of f32 tensors along one axis through oneDNN's concat primitive, in the plan's f32 layout (NHWC for
 * rank 4, C order otherwise; shapes and the axis are logical, NCHW for rank 4). It moves values without changing
 * them, so it is exact. {@link #execute} is thread-safe.
 */
final class Concatenation implements AutoCloseable {

    private final memory.desc[] descs;
    private final memory.desc sources;
    private final concat.primitive_desc pd;
    private final concat primitive;
    private final PrimitiveRunner runner;
    private final long dstBytes;

    /**
     * @param inputs the inputs' logical shapes, in order, equal but along {@code axis}
     * @param axis   the axis to concatenate along (of the logical shape)
     */
    Concatenation(long[][] inputs, int axis) {
        int n = inputs.length;
        int rank = inputs[0].length;
        if (n < 1 || axis < 0 || axis >= rank) {
            throw new IllegalArgumentException("concatenation of " + n + " tensors of rank " + rank + " on axis " + axis);
        }
        long[] out = inputs[0].clone();
        out[axis] = 0;
        for (long[] in : inputs) {
            for (int d = 0; d < rank; d++) {
                if (in.length != rank || (d != axis && in[d] != out[d])) {
                    throw new IllegalArgumentException("shapes " + Arrays.deepToString(inputs) + " do not concatenate"
                            + " on axis " + axis);
                }
            }
            out[axis] += in[axis];
        }
        memory.format_tag tag = tag(rank);
        descs = new memory.desc[n + 1];
        sources = new memory.desc(n);
        long descBytes = Pointer.sizeof(memory.desc.class);
        for (int i = 0; i < n; i++) {
            descs[i] = new memory.desc(inputs[i], memory.data_type.f32, tag);
            Pointer.memcpy(sources.getPointer(i), descs[i], descBytes);
        }
        descs[n] = new memory.desc(out, memory.data_type.f32, tag);
        pd = new concat.primitive_desc(descs[n], axis, sources, Dnnl.engine(), Primitives.threadSafe());
        primitive = new concat(pd);
        int[] args = new int[n + 1];
        for (int i = 0; i < n; i++) {
            args[i] = dnnl.DNNL_ARG_MULTIPLE_SRC + i;
        }
        args[n] = dnnl.DNNL_ARG_DST;
        runner = new PrimitiveRunner(primitive, pd, args, descs, java.util.Map.of());
        dstBytes = descs[n].get_size();
    }

    private static memory.format_tag tag(int rank) {
        return switch (rank) {
            case 1 -> memory.format_tag.a;
            case 2 -> memory.format_tag.ab;
            case 3 -> memory.format_tag.abc;
            case 4 -> memory.format_tag.nhwc;
            default -> throw new IllegalArgumentException("concatenation of rank " + rank);
        };
    }

    long dstBytes() {
        return dstBytes;
    }

    /** {@code buffers}: the inputs' buffers in order, then the destination's. */
    void execute(Pointer... buffers) {
        runner.execute(buffers);
    }

    @Override
    public void close() {
        runner.close();
        primitive.close();
        pd.close();
        sources.close();
        for (memory.desc d : descs) {
            d.close();
        }
    }
}
