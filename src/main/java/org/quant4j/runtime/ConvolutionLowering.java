package org.quant4j.runtime;

import java.util.Arrays;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.quant4j.graph.ConvolutionArgs;

/**
 * A quantized NCHW convolution or depthwise convolution reading rank-4 levels: an int8 {@link Int8Conv2d} (a
 * depthwise one with oneDNN groups = channels, weights {@code [kH, kW, C, M]} as goihw {@code [C, M, 1, kH, kW]}),
 * with a residual add after it fused when {@link KernelRoute} finds one. Levels with zero points: without padding,
 * compensated in the bias ({@link KernelLowering#compensatedBias}, exact); with padding, oneDNN's source zero point
 * (per tensor: oneDNN pads with it, so a border tap reads 0 as the graph does); per-channel zero points with padding
 * have neither, and the op runs as an fp32 island.
 */
final class ConvolutionLowering extends KernelLowering {

    @Override
    boolean takesKernel(SameDiffOp op, Value x) {
        DifferentialFunction f = op.getOp();
        boolean conv = f instanceof Conv2D c && !ConvolutionArgs.nhwc(c);
        boolean depthwise = f instanceof DepthwiseConv2D d && !d.getConfig().isNHWC() && x.rank() == 4;
        return (conv && x.rank() == 4 && x.flattenedFrom() == null) || (depthwise && x.flattenedFrom() == null);
    }

    @Override
    boolean fusesResidual() {
        return true;
    }

    @Override
    long outputsPerWeightScale(SameDiffOp op, Value x, long outChannels) {
        return op.getOp() instanceof DepthwiseConv2D ? outChannels / x.shape()[1] : 1;
    }

    @Override
    Made make(Spec s) {
        boolean depthwise = s.op().getOp() instanceof DepthwiseConv2D;
        long[] in = s.x().shape();
        long[] out = s.outShape();
        long[] a = convolutionArgs(s.op().getOp());
        long[] pad = Padding.of(in[2], in[3], out[2], out[3], a[0], a[1], a[2], a[3], a[6], a[7], a[4], a[5],
                a[8] == 1);
        Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(in[0], in[1], in[2], in[3], out[1], a[0], a[1], a[2], a[3],
                pad[0], pad[1], pad[2], pad[3], a[6], a[7], depthwise ? in[1] : 1);
        if (g.outHeight() != out[2] || g.outWidth() != out[3]) {
            return null;
        }
        byte[] levels = depthwise ? WeightLayouts.depthwise(s.weights(), g) : WeightLayouts.convolution(s.weights(), g);
        if (levels == null) {
            return null;
        }
        long macs = g.batch() * g.out() * g.outHeight() * g.outWidth() * (g.in() / g.groups()) * g.kernelH()
                * g.kernelW();
        float[] bias = s.bias();
        int sourceZeroPoint = 0;
        Value x = s.x();
        if (x.hasZeroPoints()) {
            boolean padded = pad[0] != 0 || pad[1] != 0 || pad[2] != 0 || pad[3] != 0;
            if (!padded) {
                bias = compensatedBias(bias, levels, (int) g.out(), (int) g.groups(), (int) (g.in() / g.groups()),
                        (int) (g.kernelH() * g.kernelW()), c -> x.zeroPoint(c));
            } else if (x.zeroPoints().length == 1) {
                sourceZeroPoint = x.zeroPoints()[0];
            } else {
                return null; // per-channel zero points and padding: an fp32 island computes it
            }
        }
        Int8Conv2d k;
        try {
            k = new Int8Conv2d(g, x.type(), s.dstType(), levels, bias, s.outputScales(), s.sum(), s.relu(),
                    sourceZeroPoint, s.clip());
        } catch (RuntimeException e) {
            if (sourceZeroPoint == 0) {
                throw e;
            }
            return null; // no oneDNN kernel with a source zero point for this geometry: an fp32 island
        }
        return new Made(k, k.dstBytes(), k::execute, macs);
    }

    /** {kH, kW, sH, sW, pH, pW, dH, dW, same}, from the integer arguments (which a SameDiff copy keeps right). */
    private static long[] convolutionArgs(DifferentialFunction f) {
        long[] i = f instanceof DynamicCustomOp c ? c.iArgs() : null;
        if (i != null && i.length >= 9) {
            return Arrays.copyOf(i, 9);
        }
        var c = f instanceof Conv2D conv ? conv.getConfig() : ((DepthwiseConv2D) f).getConfig();
        return new long[] {c.getKH(), c.getKW(), c.getSH(), c.getSW(), c.getPH(), c.getPW(), c.getDH(), c.getDW(),
                c.getPaddingMode() == PaddingMode.SAME ? 1 : 0};
    }
}
