package org.quant4j.runtime;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.inner_product_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.Pointer;

/**
 * A fully connected layer in integer arithmetic, through oneDNN's inner product: {@code u8|s8} input [N, F],
 * {@code s8} weights [O, F] (reordered once), {@code s32} accumulation,
 * {@code dst[n, o] = saturate(rint(act(scale[o] * (acc[n, o] + bias[o]))))} into {@code u8}, {@code s8} or
 * {@code f32}. Conventions as {@link Int8Conv2d}. {@link #execute} is thread-safe.
 */
public final class Int8Dense implements AutoCloseable {

    private final long batch;
    private final long in;
    private final long out;
    private final ElementType srcType;
    private final ElementType dstType;
    private final memory.desc srcDesc;
    private final memory.desc dstDesc;
    private final inner_product_forward.primitive_desc pd;
    private final inner_product_forward primitive;
    private final Primitives.Weights weights;
    private final Primitives.Bias bias;
    private final PrimitiveRunner runner;

    /**
     * @param weights      O x F signed 8-bit weights, C order
     * @param bias         O biases in accumulator units, or null
     * @param outputScales one scale per output (or a single one)
     */
    public Int8Dense(long batch, long in, long out, ElementType srcType, ElementType dstType, byte[] weights,
            float[] bias, float[] outputScales, boolean relu) {
        this(batch, in, out, srcType, dstType, weights, bias, outputScales, relu, null);
    }

    /**
     * As above, the destination's levels clipped to {@code clip} ({@code {qmin, qmax}}, or null: the destination
     * type's range; see {@link Primitives#requantization(float[], boolean, boolean, int[])}).
     */
    public Int8Dense(long batch, long in, long out, ElementType srcType, ElementType dstType, byte[] weights,
            float[] bias, float[] outputScales, boolean relu, int[] clip) {
        if (srcType == ElementType.F32) {
            throw new IllegalArgumentException("the input of an int8 dense layer is U8 or S8, not F32");
        }
        if (weights.length != out * in) {
            throw new IllegalArgumentException("expected " + out * in + " weights (O x F = " + out + " x " + in
                    + "), got " + weights.length);
        }
        this.batch = batch;
        this.in = in;
        this.out = out;
        this.srcType = srcType;
        this.dstType = dstType;
        var engine = Dnnl.engine();
        srcDesc = new memory.desc(new long[] {batch, in}, srcType.dnnl, memory.format_tag.nc);
        dstDesc = new memory.desc(new long[] {batch, out}, dstType.dnnl, memory.format_tag.nc);
        long[] wDims = {out, in};
        memory.desc anyWeights = new memory.desc(wDims, memory.data_type.s8, memory.format_tag.any);
        memory.desc biasDesc = new memory.desc(new long[] {out}, memory.data_type.f32, memory.format_tag.x);
        inner_product_forward.desc desc = bias != null
                ? new inner_product_forward.desc(dnnl.prop_kind.forward_inference, srcDesc, anyWeights, biasDesc, dstDesc)
                : new inner_product_forward.desc(dnnl.prop_kind.forward_inference, srcDesc, anyWeights, dstDesc);
        pd = new inner_product_forward.primitive_desc(desc, Primitives.requantization(outputScales, false, relu, clip), engine);
        primitive = new inner_product_forward(pd);
        this.weights = Primitives.Weights.reordered(weights,
                new memory.desc(wDims, memory.data_type.s8, memory.format_tag.oi), pd.weights_desc());
        this.bias = Primitives.Bias.of(bias, biasDesc, out);
        java.util.Map<Integer, memory> fixed = new java.util.HashMap<>();
        fixed.put(dnnl.DNNL_ARG_WEIGHTS, this.weights.memory());
        if (this.bias != null) {
            fixed.put(dnnl.DNNL_ARG_BIAS, this.bias.memory());
        }
        runner = new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_SRC, dnnl.DNNL_ARG_DST},
                new memory.desc[] {srcDesc, dstDesc}, fixed);
    }

    public long srcBytes() {
        return batch * in * srcType.bytes;
    }

    public long dstBytes() {
        return batch * out * dstType.bytes;
    }

    public String implementation() {
        return pd.impl_info_str().getString();
    }

    /** Runs the layer from {@code src} [N, F] into {@code dst} [N, O]. */
    public void execute(Pointer src, Pointer dst) {
        runner.execute(src, dst);
    }

    /** Whether the reordered weights and the biases lie at {@link AlignedMemory#ALIGNMENT}-byte addresses. */
    boolean buffersAligned() {
        return AlignedMemory.aligned(weights.buffer()) && (bias == null || AlignedMemory.aligned(bias.buffer()));
    }

    @Override
    public void close() {
        runner.close();
        primitive.close();
        pd.close();
        weights.close();
        if (bias != null) {
            bias.close();
        }
    }
}
