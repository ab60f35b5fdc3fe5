package org.quant4j.graph;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.reduce.same.Max;
import org.nd4j.linalg.api.ops.impl.reduce.same.Sum;
import org.nd4j.linalg.api.ops.impl.scalar.LeakyReLU;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Cross-layer equalization (Nagel et al., 2019, "Data-Free Quantization Through Weight Equalization and Bias
 * Correction", section 4.1), on an fp32 graph whose BatchNorms are folded. For two weighted ops where the first's
 * output {@code y} reaches the second only through ops {@code f} that are positively homogeneous and act per
 * channel ({@code f(y / s) = f(y) / s} for {@code s > 0}: identity, ReLU, leaky ReLU, max and average pooling,
 * global mean/max/sum pooling over H and W), read by nothing else:
 * <pre>  W1'[c, ...] = W1[c, ...] / s_c    b1'[c] = b1[c] / s_c    W2'[:, c, ...] = W2[:, c, ...] * s_c</pre>
 * leaves the second op's output unchanged. With {@code r1_c = max |W1[c, ...]|} (output channel c of the first)
 * and {@code r2_c = max |W2[:, c, ...]|} (input channel c of the second), {@code s_c = sqrt(r1_c / r2_c)} makes both
 * {@code sqrt(r1_c r2_c)}: the channels' ranges as even as the pair allows, which is what per-tensor weight
 * quantization needs. In a chain (pointwise, depthwise, pointwise) a depthwise convolution is the second op of one
 * pair and the first of the next (its channel c is one input and one output channel); the pairs are equalized in
 * turn, sweep after sweep, until no scale moves by more than {@link #TOLERANCE} (at most {@link #MAX_SWEEPS}).
 *
 * <p>Weighted ops: conv2d (NCHW, OIYX weights [O, I, kH, kW]), depthwise_conv2d (NCHW, weights [kH, kW, C, 1]:
 * a depth multiplier of 1) and xw_plus_b (weights [nIn, nOut]), each with weights (and bias) read by it alone.
 * Not equalized: a tensor read by several ops (a residual block's input), a residual add or concatenation between
 * the two, a clipping activation (ReLU6: {@code min(y / s, 6) != min(y, 6) / s}), a flatten (channels become
 * features). The scales are computed in double and written once; the graph computes what it computed up to float
 * rounding of the scaled weights. High-bias absorption (the paper's section 4.2) follows where BatchNorm statistics
 * are given: {@link HighBiasAbsorption}.
 */
public final class CrossLayerEqualization {

    /** Sweeps stop once every scale of a sweep is within this relative distance of 1. */
    public static final double TOLERANCE = 1e-4;
    /** At most this many sweeps over the pairs. */
    public static final int MAX_SWEEPS = 50;

    private CrossLayerEqualization() {
    }

    /**
     * Two weighted ops equalized together, named by their output variables (a converted layer's name): {@code
     * first}'s output channels are {@code second}'s input channels.
     */
    public record Pair(String first, String second) {
    }

    /** How a weighted op holds its channels. */
    private record Weighted(SameDiffOp op, String weight, String bias, int outAxis, int inAxis) {
    }

    /** The pairs {@link #equalize} would equalize in {@code g}'s graph, in graph order. */
    public static List<Pair> pairs(ModelGraph g) {
        SameDiff sd = g.graph();
        List<Pair> pairs = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            Weighted first = weighted(sd, op);
            if (first != null) {
                Weighted second = consumerThroughHomogeneous(sd, op.getOutputsOfOp().get(0), g.outputs());
                if (second != null && channels(sd, first, true) == channels(sd, second, false)) {
                    pairs.add(new Pair(op.getOutputsOfOp().get(0), second.op().getOutputsOfOp().get(0)));
                }
            }
        }
        return pairs;
    }

    /**
     * Equalizes every pair of {@code g}'s graph in place (the graph's outputs are those of the graph before, up to
     * float rounding); returns the pairs equalized.
     */
    public static List<Pair> equalize(ModelGraph g) {
        return equalize(g, Map.of());
    }

    /**
     * {@link #equalize(ModelGraph)}, then high-bias absorption ({@link HighBiasAbsorption}) on the pairs whose first
     * op had a BatchNorm folded into it ({@code batchNorms}, from {@link BatchNormFolding#fold(ModelGraph, Map)}).
     */
    public static List<Pair> equalize(ModelGraph g, Map<String, BatchNormFolding.Folded> batchNorms) {
        SameDiff sd = g.graph();
        List<Pair> pairs = pairs(g);
        if (pairs.isEmpty()) {
            return pairs;
        }
        Map<String, double[]> values = new LinkedHashMap<>(); // weights and biases, in double, written once at the end
        List<Weighted[]> ops = new ArrayList<>();
        Map<String, double[]> outputFactors = new LinkedHashMap<>(); // by first op's output: product of 1 / s_c
        for (Pair p : pairs) {
            Weighted a = weighted(sd, producer(sd, p.first()));
            Weighted b = weighted(sd, producer(sd, p.second()));
            for (Weighted w : new Weighted[] {a, b}) {
                values.computeIfAbsent(w.weight(), n -> asDoubles(sd, n));
                if (w.bias() != null) {
                    values.computeIfAbsent(w.bias(), n -> asDoubles(sd, n));
                }
            }
            ops.add(new Weighted[] {a, b});
        }
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double moved = 0;
            for (Weighted[] pair : ops) {
                long[] s1 = shape(sd, pair[0].weight());
                long[] s2 = shape(sd, pair[1].weight());
                double[] w1 = values.get(pair[0].weight());
                double[] w2 = values.get(pair[1].weight());
                double[] r1 = channelMaxAbs(w1, s1, pair[0].outAxis());
                double[] r2 = channelMaxAbs(w2, s2, pair[1].inAxis());
                double[] scale = new double[r1.length];
                for (int c = 0; c < scale.length; c++) {
                    double s = Math.sqrt(r1[c] / r2[c]);
                    scale[c] = r1[c] > 0 && r2[c] > 0 && Double.isFinite(s) ? s : 1;
                    moved = Math.max(moved, Math.abs(scale[c] - 1));
                }
                double[] inverse = new double[scale.length];
                for (int c = 0; c < scale.length; c++) {
                    inverse[c] = 1 / scale[c];
                }
                scaleChannels(w1, s1, pair[0].outAxis(), inverse);
                double[] factor = outputFactors.computeIfAbsent(pair[0].op().getOutputsOfOp().get(0), n -> {
                    double[] ones = new double[inverse.length];
                    java.util.Arrays.fill(ones, 1);
                    return ones;
                });
                for (int c = 0; c < factor.length; c++) {
                    factor[c] *= inverse[c];
                }
                if (pair[0].bias() != null) {
                    scaleChannels(values.get(pair[0].bias()), new long[] {inverse.length}, 0, inverse);
                }
                scaleChannels(w2, s2, pair[1].inAxis(), scale);
            }
            if (moved < TOLERANCE) {
                break;
            }
        }
        for (Map.Entry<String, double[]> e : values.entrySet()) {
            INDArray arr = sd.getVariable(e.getKey()).getArr();
            arr.assign(Nd4j.create(e.getValue(), arr.shape(), 'c').castTo(arr.dataType()));
        }
        if (!batchNorms.isEmpty()) {
            HighBiasAbsorption.absorb(g, pairs, outputFactors, batchNorms);
        }
        return pairs;
    }

    /** The op's weights and channel axes when it is a weighted op this pass can scale, else null. */
    private static Weighted weighted(SameDiff sd, SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        List<String> in = op.getInputsToOp();
        if (in == null || in.size() < 2 || !ownParameter(sd, in.get(1), op) || isParameter(sd, in.get(0))) {
            return null;
        }
        String bias = in.size() > 2 ? in.get(2) : null;
        if (bias != null && !ownParameter(sd, bias, op)) {
            return null;
        }
        long[] w = shape(sd, in.get(1));
        if (f instanceof Conv2D conv && !ConvolutionArgs.nhwc(conv)
                && ConvolutionArgs.weightsFormat(conv) == WeightsFormat.OIYX && w.length == 4) {
            return new Weighted(op, in.get(1), bias, 0, 1);
        }
        if (f instanceof DepthwiseConv2D && !ConvolutionArgs.nhwc(f) && w.length == 4 && w[3] == 1) {
            return new Weighted(op, in.get(1), bias, 2, 2);
        }
        if (f instanceof XwPlusB && w.length == 2 && bias != null) {
            return new Weighted(op, in.get(1), bias, 1, 0);
        }
        return null;
    }

    /**
     * The weighted op reading {@code tensor} as its data input, through positively homogeneous per-channel ops only,
     * each value on the way read by one op alone and none a graph output; else null.
     */
    private static Weighted consumerThroughHomogeneous(SameDiff sd, String tensor, List<String> outputs) {
        while (true) {
            Variable v = sd.getVariables().get(tensor);
            if (v == null || v.getInputsForOp() == null || v.getInputsForOp().size() != 1
                    || outputs.contains(tensor)) {
                return null;
            }
            SameDiffOp reader = sd.getOps().get(v.getInputsForOp().get(0));
            List<String> in = reader.getInputsToOp();
            if (in.indexOf(tensor) != 0 || in.lastIndexOf(tensor) != 0) {
                return null;
            }
            Weighted w = weighted(sd, reader);
            if (w != null) {
                return w;
            }
            if (!homogeneous(reader) || reader.getOutputsOfOp().size() != 1) {
                return null;
            }
            tensor = reader.getOutputsOfOp().get(0);
        }
    }

    /** Whether {@code op} commutes with a positive per-channel scale of its (NCHW or [N, C]) input. */
    private static boolean homogeneous(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        if (f instanceof Identity) {
            return true;
        }
        if (f instanceof RectifiedLinear relu) {
            INDArray cutoff = relu.scalar();
            return cutoff == null || cutoff.getDouble(0) == 0;
        }
        if (f instanceof LeakyReLU) {
            return true;
        }
        if (f instanceof MaxPooling2D || f instanceof AvgPooling2D) {
            return !ConvolutionArgs.nhwc(f) && op.getInputsToOp().size() == 1;
        }
        if (f instanceof Mean || f instanceof Max || f instanceof Sum) {
            INDArray dims = ((BaseReduceOp) f).dimensions();
            return dims != null && java.util.Arrays.equals(dims.toLongVector(), new long[] {2, 3})
                    && op.getInputsToOp().size() == 1;
        }
        return false;
    }

    static SameDiffOp producer(SameDiff sd, String variable) {
        return sd.getOps().get(sd.getVariables().get(variable).getOutputOfOp());
    }

    private static long channels(SameDiff sd, Weighted w, boolean output) {
        return shape(sd, w.weight())[output ? w.outAxis() : w.inAxis()];
    }

    private static boolean isParameter(SameDiff sd, String name) {
        SDVariable v = sd.getVariable(name);
        return v != null && (v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE)
                && v.getArr() != null;
    }

    /** A constant or trainable variable read by {@code op} alone (scaling it changes no other op). */
    private static boolean ownParameter(SameDiff sd, String name, SameDiffOp op) {
        Variable v = sd.getVariables().get(name);
        return isParameter(sd, name) && v.getInputsForOp() != null && v.getInputsForOp().size() == 1
                && v.getInputsForOp().get(0).equals(op.getName());
    }

    private static long[] shape(SameDiff sd, String name) {
        return sd.getVariable(name).getArr().shape();
    }

    private static double[] asDoubles(SameDiff sd, String name) {
        return sd.getVariable(name).getArr().castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    /** The maximum absolute value of each index along {@code axis} of a c-order array. */
    static double[] channelMaxAbs(double[] data, long[] shape, int axis) {
        long inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int n = (int) shape[axis];
        double[] max = new double[n];
        for (int i = 0; i < data.length; i++) {
            int c = (int) ((i / inner) % n);
            max[c] = Math.max(max[c], Math.abs(data[i]));
        }
        return max;
    }

    /** Multiplies every element of a c-order array by {@code factors[index along axis]}, in place. */
    static void scaleChannels(double[] data, long[] shape, int axis, double[] factors) {
        long inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int n = (int) shape[axis];
        for (int i = 0; i < data.length; i++) {
            data[i] *= factors[(int) ((i / inner) % n)];
        }
    }
}
