package org.quant4j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Conversions between the ways a plan holds values ({@link Value}) in plain Java, for what the plan's oneDNN steps do
 * not cover (arrays in and out of fp32 islands, flattened levels, traces): dequantization {@code q * s_c} (one float
 * product: the graph's {@code mul}, as {@link LevelConversion} computes it) and layout changes (NHWC buffers, NCHW
 * arrays) which move values unchanged.
 */
final class Layouts {

    private Layouts() {
    }

    /**
     * {@code a} as a dense row-major f32 array whose buffer starts at its first element (what a primitive reads
     * through {@link #hostPointer}): {@code a} itself when it is one, else a copy.
     */
    static INDArray denseFloat(INDArray a) {
        boolean dense = a.dataType() == DataType.FLOAT && a.ordering() == 'c'
                && a.offset() == 0 && org.nd4j.linalg.api.shape.Shape.hasDefaultStridesForShape(a);
        return dense ? a : a.castTo(DataType.FLOAT).dup('c');
    }

    /**
     * The host address of a dense array's first element (an array from {@link #denseFloat}), for a primitive to
     * read: the array's values are made current on the host first (a no-op on the CPU backend; on a device backend
     * the device's values are copied back), so a raw read never sees stale host memory.
     */
    static Pointer hostPointer(INDArray dense) {
        Nd4j.getAffinityManager().ensureLocation(dense, AffinityManager.Location.HOST);
        return dense.data().addressPointer();
    }

    /** The value as floats in its buffer's order (levels dequantized, {@code (q - z_c) * s_c}). */
    static float[] floats(Value v, Object content) {
        float[] values = new float[(int) v.elements()];
        switch (v.kind()) {
            case F32 -> new FloatPointer((Pointer) content).get(values);
            case LEVELS -> {
                byte[] q = new byte[values.length];
                new BytePointer((Pointer) content).get(q);
                float[] s = v.scales();
                int channels = (int) v.channels();
                boolean unsigned = v.type() == ElementType.U8;
                for (int i = 0; i < q.length; i++) {
                    float level = unsigned ? Byte.toUnsignedInt(q[i]) : q[i];
                    int c = channels == 1 ? 0 : i % channels;
                    values[i] = (level - v.zeroPoint(c)) * s[c]; // q - z exact in float, then one product
                }
            }
            case ND4J -> throw new IllegalArgumentException(v + " is an array, not a buffer");
        }
        return values;
    }

    /** The integer levels of a levels value, as floats in its logical layout (for traces). */
    static INDArray levels(Value v, Object content) {
        Value unit = new Value(v.name(), v.kind(), v.type(), v.shape(), new float[] {1f}, v.flattenedFrom(), v.slot());
        return toArray(unit, content);
    }

    /** The value as an array in the graph's layout (NCHW for rank 4), FLOAT unless it already is an array. */
    static INDArray toArray(Value v, Object content) {
        if (v.kind() == Value.Kind.ND4J) {
            return (INDArray) content;
        }
        long[] s = v.shape();
        if (v.kind() == Value.Kind.F32 && v.flattenedFrom() == null && s.length != 4) {
            // the buffer is the array's C-order values: one copy into a new array's memory
            INDArray a = Nd4j.createUninitialized(DataType.FLOAT, s, 'c');
            Pointer.memcpy(hostPointer(a), (Pointer) content, Float.BYTES * v.elements());
            Nd4j.getAffinityManager().tagLocation(a, AffinityManager.Location.HOST);
            return a;
        }
        float[] values = floats(v, content);
        if (v.flattenedFrom() != null) {
            long[] f = v.flattenedFrom();
            return nchw(values, f).reshape('c', s);
        }
        if (s.length == 4) {
            return nchw(values, s);
        }
        return Nd4j.create(values, s, 'c');
    }

    /** NHWC values of an NCHW {@code shape} as a dense NCHW array; the NHWC copy is released at once. */
    private static INDArray nchw(float[] values, long[] shape) {
        try (INDArray nhwc = Nd4j.create(values, new long[] {shape[0], shape[2], shape[3], shape[1]}, 'c')) {
            return nhwc.permute(0, 3, 1, 2).dup('c');
        }
    }

    /**
     * An f32 buffer of {@code target}'s layout (NHWC for rank 4, else C order) holding {@code v}, where the plan has
     * no oneDNN step for it ({@link LevelConversion}, {@link NhwcReorder}): flattened levels, arrays not of rank 4.
     */
    static FloatPointer toF32(Value v, Object content, PlanBuffers buffers) {
        if (v.kind() == Value.Kind.ND4J && ((INDArray) content).rank() != 4) {
            // an array of C-order float values, copied as they are
            INDArray dense = denseFloat((INDArray) content);
            FloatPointer p = buffers.takeFloats((int) dense.length());
            Pointer.memcpy(p, hostPointer(dense), Float.BYTES * dense.length());
            if (dense != content) {
                dense.close();
            }
            return p;
        }
        INDArray a = toArray(v, content).castTo(DataType.FLOAT);
        INDArray ordered = a.rank() == 4 ? a.permute(0, 2, 3, 1) : a;
        float[] values = ordered.dup('c').data().asFloat();
        FloatPointer p = buffers.takeFloats(values.length);
        p.put(values);
        return p;
    }
}
