package org.quant4j.runtime;

import java.util.Arrays;

/**
 * A tensor of an int8 plan and how it is held at run time. Its logical shape is the graph's (NCHW for rank 4); its
 * buffer's layout depends on its kind:
 * <ul>
 * <li>{@link Kind#LEVELS}: u8 or s8 integer levels {@code q} of a quantization point, standing for the real values
 * {@code (q - zeroPoints[c]) * scales[c]} ({@code c} the channel; zero points only for u8 levels of an asymmetric
 * point, else 0). Rank 4: NHWC. Rank 2: [N, F] in the graph's order, or,
 * when {@link #flattenedFrom} is set, flattened from an NHWC buffer (feature order h, w, c: a flatten of NHWC levels
 * is free, and dense weights are permuted to match).</li>
 * <li>{@link Kind#F32}: f32 values, NHWC for rank 4, the graph's C order for other ranks.</li>
 * <li>{@link Kind#ND4J}: an {@code INDArray} in the graph's layout and data type (what fp32 islands read and write).</li>
 * </ul>
 *
 * @param name          the graph variable
 * @param kind          how it is held
 * @param type          U8/S8 for levels, F32 otherwise
 * @param shape         the logical shape (NCHW for rank 4)
 * @param scales        levels only: one scale per channel, or one for the whole tensor
 * @param flattenedFrom levels only: the NCHW shape of the NHWC buffer this rank-2 value is a flatten of, or null
 * @param slot          where the plan keeps it while it runs (values that alias a buffer share the slot)
 * @param zeroPoints    levels only: the zero point per channel (as many as scales), or empty for none
 */
record Value(String name, Kind kind, ElementType type, long[] shape, float[] scales, long[] flattenedFrom, int slot,
        int[] zeroPoints) {

    /** A value without zero points. */
    Value(String name, Kind kind, ElementType type, long[] shape, float[] scales, long[] flattenedFrom, int slot) {
        this(name, kind, type, shape, scales, flattenedFrom, slot, new int[0]);
    }

    Value {
        zeroPoints = zeroPoints == null ? new int[0] : zeroPoints;
    }

    /** Whether the levels have zero points. */
    boolean hasZeroPoints() {
        return zeroPoints.length > 0;
    }

    /** The zero point of channel {@code c} of {@link #channels()} (0 without zero points). */
    int zeroPoint(long c) {
        return zeroPoints.length == 0 ? 0 : zeroPoints[zeroPoints.length == 1 ? 0 : (int) c];
    }

    /** How a value is held. */
    enum Kind { LEVELS, F32, ND4J }

    long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    long bytes() {
        return elements() * type.bytes;
    }

    int rank() {
        return shape.length;
    }

    /**
     * The channel count along the buffer's innermost dimension that {@link #scales} index, for levels: C of NHWC,
     * F of [N, F], C of the NHWC buffer a flatten came from.
     */
    long channels() {
        if (scales.length == 1) {
            return 1;
        }
        return flattenedFrom != null ? flattenedFrom[1] : shape[shape.length == 4 ? 1 : shape.length - 1];
    }

    @Override
    public String toString() {
        return name + " " + kind + (kind == Kind.LEVELS ? " " + type : "") + " " + Arrays.toString(shape);
    }
}
