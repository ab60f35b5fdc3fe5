package org.quant4j.runtime;

import java.util.Arrays;
import java.util.Map;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A rank-4 array in the graph's layout (NCHW) into an f32 NHWC buffer, straight from the array's memory (a copy,
 * exact), or a buffer of NCHW levels (u8, s8) into NHWC levels ({@link QuantizeToNhwcStep}). One channel: the two
 * layouts are the same bytes, copied. Otherwise through oneDNN's reorder, except floats with fewer than
 * {@value #FEW_CHANNELS} channels (a network's input image), whose channel planes are interleaved in Java: oneDNN's
 * AVX-512 reorder to three innermost f32 channels took 4.4 ms for ResNet-50's input batch of 8 (0.4 ms limited to
 * AVX2; {@code PlanProfile}, docs/PERFORMANCE.md), ND4J's permute and copy 3 to 5 ms. For bytes oneDNN's reorder is
 * the fast one (it vectorizes the byte shuffle the Java interleave does element by element).
 * Made once per plan step (one shape); {@link #toNhwc} is thread-safe.
 */
final class NhwcReorder implements AutoCloseable {

    /** Below this many channels the planes are interleaved in Java. */
    static final int FEW_CHANNELS = 8;
    /** Pixels per chunk of the Java interleave. */
    private static final int CHUNK = 4096;

    private final long[] shape;
    private final ElementType type;
    private final reorder.primitive_desc pd;
    private final reorder primitive;
    private final PrimitiveRunner runner;

    /** An f32 reorder. */
    NhwcReorder(long[] shape) {
        this(shape, ElementType.F32);
    }

    /** A reorder of elements of {@code type} (F32, U8 or S8). */
    NhwcReorder(long[] shape, ElementType type) {
        if (shape.length != 4) {
            throw new IllegalArgumentException("expected an NCHW shape, got " + Arrays.toString(shape));
        }
        this.shape = shape.clone();
        this.type = type;
        if (shape[1] == 1 || (type == ElementType.F32 && shape[1] < FEW_CHANNELS)) {
            pd = null;
            primitive = null;
            runner = null;
            return;
        }
        memory.desc src = new memory.desc(shape, type.dnnl, memory.format_tag.nchw);
        memory.desc dst = new memory.desc(shape, type.dnnl, memory.format_tag.nhwc);
        pd = new reorder.primitive_desc(Dnnl.engine(), src, Dnnl.engine(), dst, Primitives.threadSafe(), false);
        primitive = new reorder(pd);
        runner = new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_FROM, dnnl.DNNL_ARG_TO},
                new memory.desc[] {src, dst}, Map.of());
    }

    /** The array (of this shape, NCHW) as an NHWC f32 buffer taken from {@code buffers}. */
    FloatPointer toNhwc(INDArray array, PlanBuffers buffers) {
        if (!Arrays.equals(array.shape(), shape)) {
            throw new IllegalArgumentException("expected an array of shape " + Arrays.toString(shape) + ", got "
                    + Arrays.toString(array.shape()));
        }
        INDArray source = Layouts.denseFloat(array);
        FloatPointer dst = buffers.takeFloats(array.length());
        execute(Layouts.hostPointer(source), dst);
        return dst;
    }

    /** The NCHW buffer {@code nchw} into the NHWC buffer {@code nhwc} (elements of this reorder's type). */
    void execute(Pointer nchw, Pointer nhwc) {
        if (runner != null) {
            runner.execute(nchw, nhwc);
        } else if (shape[1] == 1) {
            Pointer.memcpy(nhwc, nchw, shape[0] * shape[2] * shape[3] * type.bytes());
        } else if (type == ElementType.F32) {
            interleave(new FloatPointer(nchw), nhwc instanceof FloatPointer f ? f : new FloatPointer(nhwc));
        } else {
            interleave(new BytePointer(nchw), new BytePointer(nhwc));
        }
    }

    /** {@link #interleave(FloatPointer, FloatPointer)} of bytes. */
    private void interleave(BytePointer nchw, BytePointer nhwc) {
        int c = (int) shape[1];
        long pixels = shape[2] * shape[3];
        byte[] planes = new byte[c * CHUNK];
        byte[] out = new byte[c * CHUNK];
        for (long n = 0; n < shape[0]; n++) {
            for (long start = 0; start < pixels; start += CHUNK) {
                int len = (int) Math.min(CHUNK, pixels - start);
                for (int ch = 0; ch < c; ch++) {
                    nchw.position((n * c + ch) * pixels + start).get(planes, ch * len, len);
                }
                for (int p = 0; p < len; p++) {
                    for (int ch = 0; ch < c; ch++) {
                        out[p * c + ch] = planes[ch * len + p];
                    }
                }
                nhwc.position((n * pixels + start) * c).put(out, 0, len * c);
            }
        }
    }

    /** Each image's C planes of H x W values into H x W pixels of C values, a chunk of pixels at a time. */
    private void interleave(FloatPointer nchw, FloatPointer nhwc) {
        int c = (int) shape[1];
        long pixels = shape[2] * shape[3];
        float[] planes = new float[c * CHUNK];
        float[] out = new float[c * CHUNK];
        FloatPointer src = new FloatPointer(nchw);
        FloatPointer dst = new FloatPointer(nhwc);
        for (long n = 0; n < shape[0]; n++) {
            for (long start = 0; start < pixels; start += CHUNK) {
                int len = (int) Math.min(CHUNK, pixels - start);
                for (int ch = 0; ch < c; ch++) {
                    src.position((n * c + ch) * pixels + start).get(planes, ch * len, len);
                }
                for (int p = 0; p < len; p++) {
                    for (int ch = 0; ch < c; ch++) {
                        out[p * c + ch] = planes[ch * len + p];
                    }
                }
                dst.position((n * pixels + start) * c).put(out, 0, len * c);
            }
        }
    }

    @Override
    public void close() {
        if (runner != null) {
            runner.close();
            primitive.close();
            pd.close();
        }
    }
}
