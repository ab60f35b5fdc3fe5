package org.quant4j.runtime;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.javacpp.Pointer;

/**
 * 2D pooling through oneDNN on NHWC buffers: max pooling on integer levels (exact: a per-channel quantizer with a
 * positive scale is monotonic, {@code max(q(x)) = q(max(x))}, and padding never wins) or on f32 values, and
 * average pooling of f32 values (global average pooling is a window of the whole map, without padding).
 * {@link #execute} is thread-safe.
 */
final class Pool2d implements AutoCloseable {

    /** What the window computes. */
    enum Kind {
        MAX(dnnl.algorithm.pooling_max),
        /** Sum of the window's inside values divided by the number of inside values. */
        AVG_EXCLUDE_PADDING(dnnl.algorithm.pooling_avg_exclude_padding),
        /** Sum of the window's inside values divided by kH kW. */
        AVG_INCLUDE_PADDING(dnnl.algorithm.pooling_avg_include_padding);

        final dnnl.algorithm algorithm;

        Kind(dnnl.algorithm algorithm) {
            this.algorithm = algorithm;
        }
    }

    private final memory.desc srcDesc;
    private final memory.desc dstDesc;
    private final pooling_forward.primitive_desc pd;
    private final pooling_forward primitive;
    private final PrimitiveRunner runner;
    private final long dstBytes;

    /**
     * @param in      [N, C, H, W] (the buffer holds NHWC)
     * @param out     [N, C, outH, outW]
     * @param padding {top, left, bottom, right}
     */
    Pool2d(Kind kind, ElementType type, long[] in, long[] out, long kernelH, long kernelW, long strideH, long strideW,
            long[] padding) {
        if (kind != Kind.MAX && type != ElementType.F32) {
            throw new IllegalArgumentException("average pooling runs on f32 values, not " + type);
        }
        srcDesc = new memory.desc(in, type.dnnl, memory.format_tag.nhwc);
        dstDesc = new memory.desc(out, type.dnnl, memory.format_tag.nhwc);
        pooling_forward.desc desc = new pooling_forward.desc(dnnl.prop_kind.forward_inference, kind.algorithm,
                srcDesc, dstDesc, new long[] {strideH, strideW}, new long[] {kernelH, kernelW},
                new long[] {padding[0], padding[1]}, new long[] {padding[2], padding[3]});
        pd = new pooling_forward.primitive_desc(desc, Primitives.threadSafe(), Dnnl.engine());
        primitive = new pooling_forward(pd);
        runner = new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_SRC, dnnl.DNNL_ARG_DST},
                new memory.desc[] {srcDesc, dstDesc}, java.util.Map.of());
        dstBytes = out[0] * out[1] * out[2] * out[3] * type.bytes;
    }

    long dstBytes() {
        return dstBytes;
    }

    void execute(Pointer src, Pointer dst) {
        runner.execute(src, dst);
    }

    @Override
    public void close() {
        runner.close();
        primitive.close();
        pd.close();
    }
}
