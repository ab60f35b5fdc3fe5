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
 * <li>quantization {@code q = clamp(rint(x / s_c), qmin, qmax)}: the binary primitive's {@code binary_div} by the
 * scales (an IEEE float
 * division, the graph's {@code div}), then the post-ops {@code eltwise_clip} to {@code [qmin, qmax]} and
 * {@code eltwise_round} (round half to even, the graph's {@code rint}; clamping to integer bounds commutes with
 * rounding), stored as {@code u8} or {@code s8} (exact: the value is a level by then);</li>
 * <li>dequantization {@code q * s_c}: a reorder of the levels into f32 with the scales as output scales (one float
 * product, the graph's {@code mul}).</li>
 * </ul>
 * Values are {@code rows x C} with the channel {@code c} innermost (NHWC buffers, or [N, F]), or, with one scale,
 * flat. {@code LayoutsTest} checks both against the formulas element by element. {@link #execute} is thread-safe.
 */
final class LevelConversion implements AutoCloseable {

    private final primitive_desc_base pd;
    private final primitive primitive;
    private final memory scalesMemory;
    private final FloatPointer scalesBuffer;
    private final PrimitiveRunner runner;

    private LevelConversion(primitive_desc_base pd, primitive primitive, memory.desc src, memory.desc dst,
            memory scalesMemory, FloatPointer scalesBuffer) {
        this.pd = pd;
        this.primitive = primitive;
        this.scalesMemory = scalesMemory;
        this.scalesBuffer = scalesBuffer;
        runner = scalesMemory == null
                ? new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_FROM, dnnl.DNNL_ARG_TO},
                        new memory.desc[] {src, dst}, Map.of())
                : new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_SRC_0, dnnl.DNNL_ARG_DST},
                        new memory.desc[] {src, dst}, Map.of(dnnl.DNNL_ARG_SRC_1, scalesMemory));
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

    /**
     * f32 values to levels of {@code grid} ({@code u8} for an unsigned grid, else {@code s8}): oneDNN's binary
     * division by the scales, with clip and round post-ops.
     *
     * @param elements the values' count
     * @param scales   one per channel (the innermost dimension), or one for all
     * @param grid     the levels' grid, at most 8 bits
     */
    static LevelConversion quantize(long elements, float[] scales, QuantGrid grid) {
        if (grid.bits() > 8) {
            throw new IllegalArgumentException(grid.bits() + "-bit levels do not fit 8-bit buffers");
        }
        long[] dims = dims(elements, scales);
        memory.desc src = new memory.desc(dims, memory.data_type.f32, tag(scales));
        memory.desc dst = new memory.desc(dims, grid.signed() ? memory.data_type.s8 : memory.data_type.u8,
                tag(scales));
        memory.desc scaleDesc = new memory.desc(scales.length == 1 ? new long[] {1} : new long[] {1, scales.length},
                memory.data_type.f32, tag(scales));
        return quantize(src, dst, scaleDesc, scales, grid);
    }

    /**
     * {@link #quantize(long, float[], QuantGrid)} of an NCHW f32 batch into NCHW levels, the scales per channel
     * (dimension 1) or one for all: at a network input or an island's output, quantizing before the transpose to
     * NHWC moves bytes instead of floats through it ({@link QuantizeToNhwcStep}).
     */
    static LevelConversion quantizeNchw(long[] shape, float[] scales, QuantGrid grid) {
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
        return quantize(src, dst, scaleDesc, scales, grid);
    }

    private static LevelConversion quantize(memory.desc src, memory.desc dst, memory.desc scaleDesc, float[] scales,
            QuantGrid grid) {
        primitive_attr attr = Primitives.threadSafe();
        post_ops ops = new post_ops();
        ops.append_eltwise(1f, dnnl.algorithm.eltwise_clip, grid.qmin(), grid.qmax());
        ops.append_eltwise(1f, dnnl.algorithm.eltwise_round, 0f, 0f);
        attr.set_post_ops(ops);
        binary.primitive_desc pd = new binary.primitive_desc(
                new binary.desc(dnnl.algorithm.binary_div, src, scaleDesc, dst), attr, Dnnl.engine());
        FloatPointer buffer = AlignedMemory.floats(scales);
        return new LevelConversion(pd, new binary(pd), src, dst, new memory(scaleDesc, Dnnl.engine(), buffer),
                buffer);
    }

    /**
     * Levels ({@code U8} or {@code S8}) to their f32 values {@code q * s_c}: oneDNN's reorder with the scales as
     * output scales (its binary primitive has no fast kernel from 8-bit integers to f32 in this version: on ResNet-50
     * at batch 8, 141 ms for the 12 dequantize steps against 1 to 12 ms with the reorder, in {@code PlanProfile}
     * runs of a temporary build that dequantized with {@code binary_mul}).
     */
    static LevelConversion dequantize(long elements, float[] scales, ElementType levels) {
        if (levels == ElementType.F32) {
            throw new IllegalArgumentException("levels are U8 or S8, not F32");
        }
        long[] dims = dims(elements, scales);
        memory.desc src = new memory.desc(dims, levels.dnnl, tag(scales));
        memory.desc dst = new memory.desc(dims, memory.data_type.f32, tag(scales));
        primitive_attr attr = Primitives.threadSafe();
        attr.set_output_scales(scales.length == 1 ? 0 : 1 << 1, scales);
        reorder.primitive_desc pd = new reorder.primitive_desc(Dnnl.engine(), src, Dnnl.engine(), dst, attr, false);
        return new LevelConversion(pd, new reorder(pd), src, dst, null, null);
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
        if (scalesMemory != null) {
            scalesMemory.close();
            scalesBuffer.close();
        }
    }
}
