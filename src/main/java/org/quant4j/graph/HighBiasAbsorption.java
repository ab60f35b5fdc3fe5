package org.quant4j.graph;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.factory.Nd4j;

/**
 * High-bias absorption (Nagel et al., 2019, section 4.2), after cross-layer equalization: for a pair whose first op
 * had a BatchNorm folded into it (its output channel c is about {@code N(beta_c, gamma_c^2)}, both divided by the
 * equalization's {@code s_c}), and whose output reaches the second op through a ReLU:
 * <pre>  h_c = max(0, beta_c - 3 |gamma_c|)    b1'[c] = b1[c] - h_c    b2' = b2 + W2 h</pre>
 * Where a channel's pre-activation {@code y_c >= h_c}, {@code relu(y_c - h_c) + h_c = relu(y_c)}, so the second op's
 * output is unchanged; the first op's output range shrinks by {@code h_c}, which the activation's quantization grid
 * gains. A pre-activation below {@code h_c} (about 0.1 % of a Gaussian channel's values) changes the output.
 *
 * <p>Taken only where the shift passes through exactly: the ops between the two are identities, ReLUs (at least
 * one), max pooling and means over H and W (each commutes with subtracting a per-channel constant from values
 * that stay non-negative), and the second op reads no zero padding (a 1x1 or unpadded convolution, a depthwise
 * convolution without padding, or a dense layer: a padded border reads zeros, not the shifted mean) and has a bias.
 */
public final class HighBiasAbsorption {

    private HighBiasAbsorption() {
    }

    /**
     * Absorbs in place, for each of {@code pairs} whose first op's output has BatchNorm statistics in {@code
     * batchNorms}, divided per channel by {@code outputFactors} (the product of {@code 1 / s_c} equalization gave the
     * first op's output channels); returns how many channels absorbed a shift.
     */
    static int absorb(ModelGraph g, List<CrossLayerEqualization.Pair> pairs, Map<String, double[]> outputFactors,
            Map<String, BatchNormFolding.Folded> batchNorms) {
        SameDiff sd = g.graph();
        int absorbed = 0;
        for (CrossLayerEqualization.Pair pair : pairs) {
            BatchNormFolding.Folded bn = batchNorms.get(pair.first());
            SameDiffOp first = CrossLayerEqualization.producer(sd, pair.first());
            SameDiffOp second = CrossLayerEqualization.producer(sd, pair.second());
            if (bn == null || first.getInputsToOp().size() < 3 || second.getInputsToOp().size() < 3
                    || !throughReluOnly(sd, pair.first(), second) || readsPadding(second.getOp())) {
                continue;
            }
            double[] factor = outputFactors.get(pair.first());
            int channels = bn.beta().length;
            double[] h = new double[channels];
            boolean any = false;
            for (int c = 0; c < channels; c++) {
                double f = factor == null ? 1 : factor[c];
                h[c] = Math.max(0, (bn.beta()[c] - 3 * Math.abs(bn.gamma()[c])) * f);
                any |= h[c] > 0;
                absorbed += h[c] > 0 ? 1 : 0;
            }
            if (!any) {
                continue;
            }
            INDArray b1 = sd.getVariable(first.getInputsToOp().get(2)).getArr();
            b1.assign(b1.castTo(DataType.DOUBLE).reshape(channels)
                    .sub(Nd4j.createFromArray(h)).reshape(b1.shape()).castTo(b1.dataType()));
            INDArray w2 = sd.getVariable(second.getInputsToOp().get(1)).getArr();
            INDArray b2 = sd.getVariable(second.getInputsToOp().get(2)).getArr();
            double[] shift = weightTimes(second.getOp(), w2, h);
            b2.assign(b2.castTo(DataType.DOUBLE).reshape(shift.length).add(Nd4j.createFromArray(shift))
                    .reshape(b2.shape()).castTo(b2.dataType()));
        }
        return absorbed;
    }

    /** {@code W2 h}: per output channel of the second op, its weights summed against the input shifts {@code h}. */
    private static double[] weightTimes(DifferentialFunction op, INDArray w, double[] h) {
        double[] values = w.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        long[] shape = w.shape();
        int outAxis;
        int inAxis;
        if (op instanceof Conv2D) {
            outAxis = 0; // OIYX, as CrossLayerEqualization takes
            inAxis = 1;
        } else if (op instanceof DepthwiseConv2D) {
            outAxis = 2; // [kH, kW, C, 1]
            inAxis = 2;
        } else {
            outAxis = 1; // xw_plus_b [nIn, nOut]
            inAxis = 0;
        }
        long outInner = inner(shape, outAxis);
        long inInner = inner(shape, inAxis);
        double[] result = new double[(int) shape[outAxis]];
        for (int i = 0; i < values.length; i++) {
            int o = (int) ((i / outInner) % shape[outAxis]);
            int c = (int) ((i / inInner) % shape[inAxis]);
            result[o] += values[i] * h[c];
        }
        return result;
    }

    private static long inner(long[] shape, int axis) {
        long inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        return inner;
    }

    /** Whether the path from {@code tensor} to {@code second} is identities, max pooling, H-W means and a ReLU. */
    private static boolean throughReluOnly(SameDiff sd, String tensor, SameDiffOp second) {
        boolean relu = false;
        while (true) {
            Variable v = sd.getVariables().get(tensor);
            if (v.getInputsForOp() == null || v.getInputsForOp().size() != 1) {
                return false;
            }
            SameDiffOp reader = sd.getOps().get(v.getInputsForOp().get(0));
            if (reader == second) {
                return relu;
            }
            DifferentialFunction f = reader.getOp();
            if (f instanceof RectifiedLinear r) {
                if (r.scalar() != null && r.scalar().getDouble(0) != 0) {
                    return false;
                }
                relu = true;
            } else if (f instanceof Mean m) {
                INDArray dims = ((BaseReduceOp) m).dimensions();
                if (dims == null || !java.util.Arrays.equals(dims.toLongVector(), new long[] {2, 3})) {
                    return false;
                }
            } else if (!(f instanceof Identity || f instanceof MaxPooling2D)) {
                return false;
            }
            tensor = reader.getOutputsOfOp().get(0);
        }
    }

    /** Whether a convolution reads zero padding ({@code [kH, kW, sH, sW, pH, pW, dH, dW, same, ...]}). */
    private static boolean readsPadding(DifferentialFunction op) {
        if (op instanceof XwPlusB) {
            return false;
        }
        long[] a = op instanceof DynamicCustomOp c ? c.iArgs() : null;
        if (a == null || a.length < 9) {
            return true;
        }
        boolean oneByOne = a[0] == 1 && a[1] == 1;
        return !oneByOne && (a[8] == 1 || a[4] != 0 || a[5] != 0);
    }
}
