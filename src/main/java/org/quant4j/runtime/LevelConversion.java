package org.quant4j.runtime;

import java.util.Map;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.quant4j.range.QuantGrid;

/**
 * Between f32 values and the integer levels of a quantization point, through oneDNN (vectorized, on oneDNN's
 * threads), computing exactly what the fake-quant graph computes:
 * <ul>
 * <li>quantization {@code q = clamp(rint(x / s_c), qmin, qmax)} (with zero points
 * {@code clamp(rint(x / s_c) + z_c, qmin, qmax)}, {@link #quantize(long, float[], int[], QuantGrid)}): the binary primitive's {@code binary_div} by the
 * scales (an IEEE float
 * division, the graph's {@code div}), then the post-ops {@code eltwise_clip} to {@code [qmin, qmax]} and
 * {@code eltwise_round} (round half to even, the graph's {@code rint}; clamping to integer bounds commutes with
 * rounding), stored as {@code u8} or {@code s8} (exact: the value is a level by then);</li>
 * <li>dequantization {@code q * s_c} (with zero points {@code (q - z_c) * s_c}): a reorder of the levels into f32 with the scales as output scales (one float
 * product, the graph's {@code mul}).</li>
 * </ul>
 * Values are {@code rows x C} with the channel {@code c} innermost (NHWC buffers, or [N, F]), or, with one scale,
 * flat. {@code LayoutsTest} checks both against the formulas element by element. {@link #execute} is thread-safe.
 */
final class LevelConversion implements AutoCloseable {

    private final primitive_desc_base pd;
    private final primitive primitive;
    private final java.util.List<AutoCloseable> constants;
    private final PrimitiveRunner runner;

    /**
     * @param binary    whether the primitive is a binary one (arguments SRC_0, DST; else a reorder: FROM, TO)
     * @param fixed     the constant arguments (the scales as SRC_1, a post-op's operand)
     * @param constants what closing this closes besides the primitive (the constants' memories and buffers)
     */
    private LevelConversion(primitive_desc_base pd, primitive primitive, memory.desc src, memory.desc dst,
            boolean binary, Map<Integer, memory> fixed, java.util.List<AutoCloseable> constants) {
        this.pd = pd;
        this.primitive = primitive;
        this.constants = constants;
        runner = binary
                ? new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_SRC_0, dnnl.DNNL_ARG_DST},
                        new memory.desc[] {src, dst}, fixed)
                : new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_FROM, dnnl.DNNL_ARG_TO},
                        new memory.desc[] {src, dst}, fixed);
    }

    /** {@code rows x C} (C = the scales' count, innermost) for per-channel scales, else flat. */
    private static long[] dims(long elements, float[] scales) {
        int channels = scales.length;
        if (channels < 1 || elements % channels != 0) {
            throw new IllegalArgumentException(channels + " scales for " + elements + " values");
        }
        return channels == 1 ? new long[] {elements} : new long[] {elements / channels, channels};
    }

    private static memory.format_tag tag(float[] scales) {
        return scales.length == 1 ? memory.format_tag.a : memory.format_tag.ab;
    }

    /** The descriptor of a per-channel constant (scales, zero points) that broadcasts against the values. */
    private static memory.desc constantDesc(float[] scales) {
        return new memory.desc(scales.length == 1 ? new long[] {1} : new long[] {1, scales.length},
                memory.data_type.f32, tag(scales));
    }

    /** The argument id of post-op {@code index}'s second operand. */
    private static int postOpOperand(int index) {
        return dnnl.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * (index + 1) | dnnl.DNNL_ARG_SRC_1;
    }

    /** Zero points as floats (exact: levels of at most 8 bits). */
    private static float[] floats(int[] zeroPoints) {
        float[] z = new float[zeroPoints.length];
        for (int c = 0; c < z.length; c++) {
            z[c] = zeroPoints[c];
        }
        return z;
    }

    /** Without zero points, see {@link #quantize(long, float[], int[], QuantGrid)}. */
    static LevelConversion quantize(long elements, float[] scales, QuantGrid grid) {
        return quantize(elements, scales, new int[0], grid);
    }

    /**
     * f32 values to levels of {@code grid} ({@code u8} for an unsigned grid, else {@code s8}): oneDNN's binary
     * division by the scales, with clip and round post-ops; with zero points, the graph's
     * {@code clip(rint(x / s_c) + z_c, qmin, qmax)}: the post-ops round, a binary add of the zero points (exact:
     * integers in float) and clip, in that order.
     *
     * @param elements   the values' count
     * @param scales     one per channel (the innermost dimension), or one for all
     * @param zeroPoints one per scale, or empty for none
     * @param grid       the levels' grid, at most 8 bits
     */
    static LevelConversion quantize(long elements, float[] scales, int[] zeroPoints, QuantGrid grid) {
        if (grid.bits() > 8) {
            throw new IllegalArgumentException(grid.bits() + "-bit levels do not fit 8-bit buffers");
        }
        long[] dims = dims(elements, scales);
        memory.desc src = new memory.desc(dims, memory.data_type.f32, tag(scales));
        memory.desc dst = new memory.desc(dims, grid.signed() ? memory.data_type.s8 : memory.data_type.u8,
                tag(scales));
        return quantize(src, dst, constantDesc(scales), scales, zeroPoints, grid);
    }

    /** Without zero points, see {@link #quantizeNchw(long[], float[], int[], QuantGrid)}. */
    static LevelConversion quantizeNchw(long[] shape, float[] scales, QuantGrid grid) {
        return quantizeNchw(shape, scales, new int[0], grid);
    }

    /**
     * {@link #quantize(long, float[], int[], QuantGrid)} of an NCHW f32 batch into NCHW levels, the scales (and zero
     * points) per channel (dimension 1) or one for all: at a network input or an island's output, quantizing before
     * the transpose to NHWC moves bytes instead of floats through it ({@link QuantizeToNhwcStep}).
     */
    static LevelConversion quantizeNchw(long[] shape, float[] scales, int[] zeroPoints, QuantGrid grid) {
        if (grid.bits() > 8) {
            throw new IllegalArgumentException(grid.bits() + "-bit levels do not fit 8-bit buffers");
        }
        if (shape.length != 4 || (scales.length != 1 && scales.length != shape[1])) {
            throw new IllegalArgumentException(scales.length + " scales for an NCHW batch of shape "
                    + java.util.Arrays.toString(shape));
        }
        memory.desc src = new memory.desc(shape, memory.data_type.f32, memory.format_tag.nchw);
        memory.desc dst = new memory.desc(shape, grid.signed() ? memory.data_type.s8 : memory.data_type.u8,
                memory.format_tag.nchw);
        memory.desc scaleDesc = new memory.desc(new long[] {1, scales.length, 1, 1}, memory.data_type.f32,
                memory.format_tag.nchw);
        return quantize(src, dst, scaleDesc, scales, zeroPoints, grid);
    }

    private static LevelConversion quantize(memory.desc src, memory.desc dst, memory.desc scaleDesc, float[] scales,
            int[] zeroPoints, QuantGrid grid) {
        if (zeroPoints.length != 0 && zeroPoints.length != scales.length) {
            throw new IllegalArgumentException(zeroPoints.length + " zero points for " + scales.length + " scales");
        }
        primitive_attr attr = Primitives.threadSafe();
        post_ops ops = new post_ops();
        java.util.List<AutoCloseable> constants = new java.util.ArrayList<>();
        Map<Integer, memory> fixed = new java.util.HashMap<>();
        if (zeroPoints.length == 0) {
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_clip, grid.qmin(), grid.qmax());
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_round, 0f, 0f);
        } else {
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_round, 0f, 0f);
            ops.append_binary(dnnl.algorithm.binary_add, scaleDesc);
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_clip, grid.qmin(), grid.qmax());
            fixed.put(postOpOperand(1), constant(scaleDesc, floats(zeroPoints), constants));
        }
        attr.set_post_ops(ops);
        binary.primitive_desc pd = new binary.primitive_desc(
                new binary.desc(dnnl.algorithm.binary_div, src, scaleDesc, dst), attr, Dnnl.engine());
        fixed.put(dnnl.DNNL_ARG_SRC_1, constant(scaleDesc, scales, constants));
        return new LevelConversion(pd, new binary(pd), src, dst, true, fixed, constants);
    }

    private static memory constant(memory.desc desc, float[] values, java.util.List<AutoCloseable> constants) {
        FloatPointer buffer = AlignedMemory.floats(values);
        memory m = new memory(desc, Dnnl.engine(), buffer);
        constants.add(m);
        constants.add(buffer);
        return m;
    }

    /** Without zero points, see {@link #dequantize(long, float[], int[], ElementType)}. */
    static LevelConversion dequantize(long elements, float[] scales, ElementType levels) {
        return dequantize(elements, scales, new int[0], levels);
    }

    /**
     * Levels ({@code U8} or {@code S8}) to their f32 values {@code q * s_c}: oneDNN's reorder with the scales as
     * output scales (its binary primitive has no fast kernel from 8-bit integers to f32 in this version: on ResNet-50
     * at batch 8, 141 ms for the 12 dequantize steps against 1 to 12 ms with the reorder, in {@code PlanProfile}
     * runs of a temporary build that dequantized with {@code binary_mul}). With zero points, the graph's
     * {@code (q - z_c) * s_c}: the binary primitive's {@code binary_sub} of the zero points (exact in f32) and a
     * {@code binary_mul} post-op by the scales (one float product), slower but only where a point has zero points.
     */
    static LevelConversion dequantize(long elements, float[] scales, int[] zeroPoints, ElementType levels) {
        if (levels == ElementType.F32) {
            throw new IllegalArgumentException("levels are U8 or S8, not F32");
        }
        long[] dims = dims(elements, scales);
        memory.desc src = new memory.desc(dims, levels.dnnl, tag(scales));
        memory.desc dst = new memory.desc(dims, memory.data_type.f32, tag(scales));
        primitive_attr attr = Primitives.threadSafe();
        if (zeroPoints.length > 0) {
            memory.desc constantDesc = constantDesc(scales);
            post_ops ops = new post_ops();
            ops.append_binary(dnnl.algorithm.binary_mul, constantDesc);
            attr.set_post_ops(ops);
            java.util.List<AutoCloseable> constants = new java.util.ArrayList<>();
            Map<Integer, memory> fixed = new java.util.HashMap<>();
            fixed.put(dnnl.DNNL_ARG_SRC_1, constant(constantDesc, floats(zeroPoints), constants));
            fixed.put(postOpOperand(0), constant(constantDesc, scales, constants));
            binary.primitive_desc pd = new binary.primitive_desc(
                    new binary.desc(dnnl.algorithm.binary_sub, src, constantDesc, dst), attr, Dnnl.engine());
            return new LevelConversion(pd, new binary(pd), src, dst, true, fixed, constants);
        }
        attr.set_output_scales(scales.length == 1 ? 0 : 1 << 1, scales);
        reorder.primitive_desc pd = new reorder.primitive_desc(Dnnl.engine(), src, Dnnl.engine(), dst, attr, false);
        return new LevelConversion(pd, new reorder(pd), src, dst, false, Map.of(), java.util.List.of());
    }

    /** Converts {@code src} into {@code dst} (buffers of the source's and the destination's type). */
    void execute(Pointer src, Pointer dst) {
        runner.execute(src, dst);
    }

    /** The oneDNN implementation, e.g. {@code jit:uni} or {@code simple:any}. */
    String implementation() {
        return pd.impl_info_str().getString();
    }

    @Override
    public void close() {
        runner.close();
        primitive.close();
        pd.close();
        for (AutoCloseable c : constants) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing a constant of " + implementation(), e);
            }
        }
    }
}
