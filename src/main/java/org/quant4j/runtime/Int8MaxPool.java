package org.quant4j.runtime;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_forward;
import org.bytedeco.javacpp.Pointer;

/**
 * Max pooling directly on integer levels (NHWC, u8 or s8): exact, since a per-channel quantizer is monotonic,
 * {@code max(q(x)) = q(max(x))}. Padding never wins (oneDNN pads max pooling with the lowest value).
 */
public final class Int8MaxPool implements AutoCloseable {

    private final memory.desc srcDesc;
    private final memory.desc dstDesc;
    private final pooling_forward.primitive_desc pd;
    private final pooling_forward primitive;
    private final PrimitiveRunner runner;
    private final long srcBytes;
    private final long dstBytes;

    public Int8MaxPool(long batch, long channels, long height, long width, ElementType type, long kernelH,
            long kernelW, long strideH, long strideW, long padTop, long padLeft, long padBottom, long padRight) {
        long outH = (height + padTop + padBottom - kernelH) / strideH + 1;
        long outW = (width + padLeft + padRight - kernelW) / strideW + 1;
        srcDesc = new memory.desc(new long[] {batch, channels, height, width}, type.dnnl, memory.format_tag.nhwc);
        dstDesc = new memory.desc(new long[] {batch, channels, outH, outW}, type.dnnl, memory.format_tag.nhwc);
        pooling_forward.desc desc = new pooling_forward.desc(dnnl.prop_kind.forward_inference,
                dnnl.algorithm.pooling_max, srcDesc, dstDesc, new long[] {strideH, strideW},
                new long[] {kernelH, kernelW}, new long[] {padTop, padLeft}, new long[] {padBottom, padRight});
        pd = new pooling_forward.primitive_desc(desc, Primitives.threadSafe(), Dnnl.engine());
        primitive = new pooling_forward(pd);
        runner = new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_SRC, dnnl.DNNL_ARG_DST},
                new memory.desc[] {srcDesc, dstDesc}, java.util.Map.of());
        srcBytes = batch * channels * height * width * type.bytes;
        dstBytes = batch * channels * outH * outW * type.bytes;
    }

    public long srcBytes() {
        return srcBytes;
    }

    public long dstBytes() {
        return dstBytes;
    }

    public void execute(Pointer src, Pointer dst) {
        runner.execute(src, dst);
    }

    @Override
    public void close() {
        runner.close();
        primitive.close();
        pd.close();
    }
}
