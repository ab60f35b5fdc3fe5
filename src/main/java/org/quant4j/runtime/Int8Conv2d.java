package org.quant4j.runtime;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.javacpp.Pointer;

/**
 * One 2D convolution in integer arithmetic, through oneDNN: {@code u8|s8} activations in NHWC, {@code s8} weights
 * (reordered once into the kernel's own layout), {@code s32} accumulation, then
 * <pre>  dst[n, o, y, x] = saturate(rint(act(scale[o] * (acc[n, o, y, x] + bias[o]) + r[n, o, y, x])))</pre>
 * into {@code u8}, {@code s8} or {@code f32} NHWC, with {@code acc = sum_{c, ky, kx} src * w}, and {@code r} zero
 * or, for a kernel that adds to its destination (a residual add fused as oneDNN's sum post-op), the destination's
 * content before the call. The bias is in
 * accumulator units (a real bias b becomes {@code b / s_w[o]}, the activation scales being folded into the weights'
 * scales); {@code act} is the identity or ReLU.
 * Created once per layer and input shape; {@link #execute} is thread-safe.
 */
public final class Int8Conv2d implements AutoCloseable {

    /**
     * The geometry of a convolution.
     *
     * @param batch    N
     * @param in       C, input channels
     * @param height   H
     * @param width    W
     * @param out      O, output channels
     * @param kernelH  kH
     * @param kernelW  kW
     * @param strideH  vertical stride
     * @param strideW  horizontal stride
     * @param padTop   zero rows above
     * @param padLeft  zero columns to the left
     * @param padBottom zero rows below
     * @param padRight zero columns to the right
     * @param dilationH vertical dilation (1: none)
     * @param dilationW horizontal dilation (1: none)
     * @param groups   G: input and output channels split into G groups convolved separately (1: an ordinary
     *                 convolution; C: a depthwise convolution, O / C filters per input channel)
     */
    public record Geometry(long batch, long in, long height, long width, long out, long kernelH, long kernelW,
            long strideH, long strideW, long padTop, long padLeft, long padBottom, long padRight, long dilationH,
            long dilationW, long groups) {

        /** An ordinary (one group) convolution. */
        public Geometry(long batch, long in, long height, long width, long out, long kernelH, long kernelW,
                long strideH, long strideW, long padTop, long padLeft, long padBottom, long padRight, long dilationH,
                long dilationW) {
            this(batch, in, height, width, out, kernelH, kernelW, strideH, strideW, padTop, padLeft, padBottom,
                    padRight, dilationH, dilationW, 1);
        }

        public Geometry {
            if (groups < 1 || in % groups != 0 || out % groups != 0) {
                throw new IllegalArgumentException(groups + " groups do not divide " + in + " input and " + out
                        + " output channels");
            }
        }

        public long outHeight() {
            long effective = (kernelH - 1) * dilationH + 1;
            return (height + padTop + padBottom - effective) / strideH + 1;
        }

        public long outWidth() {
            long effective = (kernelW - 1) * dilationW + 1;
            return (width + padLeft + padRight - effective) / strideW + 1;
        }
    }

    private final Geometry g;
    private final ElementType srcType;
    private final ElementType dstType;
    private final memory.desc srcDesc;
    private final memory.desc dstDesc;
    private final convolution_forward.primitive_desc pd;
    private final convolution_forward conv;
    private final Primitives.Weights weights;
    private final Primitives.Bias bias;
    private final PrimitiveRunner runner;
    private final boolean addsToDestination;
    private final memory zeroPointMemory;
    private final org.bytedeco.javacpp.IntPointer zeroPointBuffer;

    /** A kernel that overwrites its destination. */
    public Int8Conv2d(Geometry g, ElementType srcType, ElementType dstType, byte[] weights, float[] bias,
            float[] outputScales, boolean relu) {
        this(g, srcType, dstType, weights, bias, outputScales, false, relu);
    }

    /**
     * @param g            the geometry
     * @param srcType      U8 or S8
     * @param dstType      U8, S8 or F32
     * @param weights      O x C/G x kH x kW signed 8-bit weights, C order (OIHW; with G groups, output channel
     *                     {@code o} belongs to group {@code o / (O/G)} and reads its C/G input channels: oneDNN's
     *                     goihw layout)
     * @param bias         O biases in accumulator units, or null
     * @param outputScales one scale per output channel (or a single one)
     * @param addToDestination whether the destination's content before the call is added after the scaling and
     *                     before the ReLU (oneDNN's sum post-op: a residual add; the destination must then hold it)
     * @param relu         whether ReLU follows the scaling (and the addition)
     */
    public Int8Conv2d(Geometry g, ElementType srcType, ElementType dstType, byte[] weights, float[] bias,
            float[] outputScales, boolean addToDestination, boolean relu) {
        this(g, srcType, dstType, weights, bias, outputScales, addToDestination, relu, 0);
    }

    /**
     * A kernel whose source levels have the zero point {@code sourceZeroPoint} (0: none): oneDNN's source zero
     * point (per tensor, a run-time argument), which computes {@code sum (q - z) W} and pads the source with
     * {@code z}, so that a border tap reads the value 0 as the fake-quant graph's convolution does.
     *
     * @param sourceZeroPoint the source's zero point, a level of its u8 grid, or 0
     */
    public Int8Conv2d(Geometry g, ElementType srcType, ElementType dstType, byte[] weights, float[] bias,
            float[] outputScales, boolean addToDestination, boolean relu, int sourceZeroPoint) {
        this(g, srcType, dstType, weights, bias, outputScales, addToDestination, relu, sourceZeroPoint, null);
    }

    /**
     * As above, the destination's levels clipped to {@code clip} ({@code {qmin, qmax}}, or null: the destination
     * type's range; see {@link Primitives#requantization(float[], boolean, boolean, int[])}).
     */
    public Int8Conv2d(Geometry g, ElementType srcType, ElementType dstType, byte[] weights, float[] bias,
            float[] outputScales, boolean addToDestination, boolean relu, int sourceZeroPoint, int[] clip) {
        if (srcType == ElementType.F32) {
            throw new IllegalArgumentException("the source of an int8 convolution is U8 or S8, not F32");
        }
        long expected = g.out() * (g.in() / g.groups()) * g.kernelH() * g.kernelW();
        if (weights.length != expected) {
            throw new IllegalArgumentException("expected " + expected + " weights (O x C/G x kH x kW = " + g.out()
                    + " x " + g.in() / g.groups() + " x " + g.kernelH() + " x " + g.kernelW() + "), got "
                    + weights.length);
        }
        if (outputScales.length != 1 && outputScales.length != g.out()) {
            throw new IllegalArgumentException("expected 1 or " + g.out() + " output scales, got " + outputScales.length);
        }
        this.g = g;
        this.addsToDestination = addToDestination;
        this.srcType = srcType;
        this.dstType = dstType;
        var engine = Dnnl.engine();
        long[] srcDims = {g.batch(), g.in(), g.height(), g.width()};
        long[] wDims = g.groups() == 1 ? new long[] {g.out(), g.in(), g.kernelH(), g.kernelW()}
                : new long[] {g.groups(), g.out() / g.groups(), g.in() / g.groups(), g.kernelH(), g.kernelW()};
        long[] dstDims = {g.batch(), g.out(), g.outHeight(), g.outWidth()};
        srcDesc = new memory.desc(srcDims, srcType.dnnl, memory.format_tag.nhwc);
        dstDesc = new memory.desc(dstDims, dstType.dnnl, memory.format_tag.nhwc);
        memory.desc anyWeights = new memory.desc(wDims, memory.data_type.s8, memory.format_tag.any);
        memory.desc biasDesc = new memory.desc(new long[] {g.out()}, memory.data_type.f32, memory.format_tag.x);

        primitive_attr attr = Primitives.requantization(outputScales, addToDestination, relu, clip);
        if (sourceZeroPoint != 0) {
            attr.set_zero_points(dnnl.DNNL_ARG_SRC, 0, new int[] {dnnl.DNNL_RUNTIME_S32_VAL});
        }
        long[] strides = {g.strideH(), g.strideW()};
        long[] dilates = {g.dilationH() - 1, g.dilationW() - 1};
        long[] padL = {g.padTop(), g.padLeft()};
        long[] padR = {g.padBottom(), g.padRight()};
        convolution_forward.desc desc = bias != null
                ? new convolution_forward.desc(dnnl.prop_kind.forward_inference, dnnl.algorithm.convolution_direct,
                        srcDesc, anyWeights, biasDesc, dstDesc, strides, dilates, padL, padR)
                : new convolution_forward.desc(dnnl.prop_kind.forward_inference, dnnl.algorithm.convolution_direct,
                        srcDesc, anyWeights, dstDesc, strides, dilates, padL, padR);
        pd = new convolution_forward.primitive_desc(desc, attr, engine);
        conv = new convolution_forward(pd);

        this.weights = Primitives.Weights.reordered(weights,
                new memory.desc(wDims, memory.data_type.s8,
                        g.groups() == 1 ? memory.format_tag.oihw : memory.format_tag.goihw), pd.weights_desc());
        this.bias = Primitives.Bias.of(bias, biasDesc, g.out());
        java.util.Map<Integer, memory> fixed = new java.util.HashMap<>();
        fixed.put(dnnl.DNNL_ARG_WEIGHTS, this.weights.memory());
        if (this.bias != null) {
            fixed.put(dnnl.DNNL_ARG_BIAS, this.bias.memory());
        }
        if (sourceZeroPoint != 0) {
            zeroPointBuffer = new org.bytedeco.javacpp.IntPointer(new int[] {sourceZeroPoint});
            zeroPointMemory = new memory(new memory.desc(new long[] {1}, memory.data_type.s32, memory.format_tag.x),
                    engine, zeroPointBuffer);
            fixed.put(dnnl.DNNL_ARG_ATTR_ZERO_POINTS | dnnl.DNNL_ARG_SRC, zeroPointMemory);
        } else {
            zeroPointBuffer = null;
            zeroPointMemory = null;
        }
        runner = new PrimitiveRunner(conv, pd, new int[] {dnnl.DNNL_ARG_SRC, dnnl.DNNL_ARG_DST},
                new memory.desc[] {srcDesc, dstDesc}, fixed);
    }

    public Geometry geometry() {
        return g;
    }

    /** Bytes of one input batch (N x H x W x C elements of the source type). */
    public long srcBytes() {
        return g.batch() * g.in() * g.height() * g.width() * srcType.bytes;
    }

    /** Bytes of one output batch. */
    public long dstBytes() {
        return g.batch() * g.out() * g.outHeight() * g.outWidth() * dstType.bytes;
    }

    /** The oneDNN implementation chosen, e.g. {@code brg:avx512_core_vnni} or {@code jit_uni_int8:avx2}. */
    public String implementation() {
        return pd.impl_info_str().getString();
    }

    /** Whether {@link #execute} adds the destination's previous content (a fused residual add). */
    public boolean addsToDestination() {
        return addsToDestination;
    }

    /**
     * Runs the convolution from {@code src} (NHWC, source type) into {@code dst} (NHWC, destination type; for a
     * kernel that {@linkplain #addsToDestination adds to its destination}, holding the values to add).
     */
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
        conv.close();
        pd.close();
        weights.close();
        if (bias != null) {
            bias.close();
        }
        if (zeroPointMemory != null) {
            zeroPointMemory.close();
            zeroPointBuffer.close();
        }
    }
}
