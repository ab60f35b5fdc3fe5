package org.quant4j.runtime;

import java.util.Arrays;
import java.util.List;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.impl.scalar.LeakyReLU;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;

/**
 * ReLU, leaky ReLU, sigmoid, the sum of two tensors of one shape and the softmax of a rank-2 value's rows: f32
 * oneDNN primitives ({@link Elementwise}) on f32 values. (Not tanh: oneDNN's differs from SameDiff's by up to 251
 * units in the last place, sigmoid by 4 (Int8SigmoidAndConcatTest), softmax by tens (Int8PadAndSoftmaxTest).) A ReLU
 * or residual add that a kernel fuses never gets here ({@link KernelRoute}).
 */
final class ElementwiseLowering implements OpLowering {

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        DifferentialFunction f = op.getOp();
        return f instanceof RectifiedLinear || f instanceof LeakyReLU || f instanceof Sigmoid || f instanceof AddOp
                || rowSoftmax(op, plan);
    }

    /**
     * A softmax over dimension 1 of a rank-2 value (a classifier's output, as the converter writes DL4J's softmax on
     * rank 2).
     */
    private static boolean rowSoftmax(SameDiffOp op, PlanBuilder plan) {
        if (!(op.getOp() instanceof SoftMax softmax) || op.getInputsToOp().size() != 1
                || op.getOutputsOfOp().size() != 1) {
            return false;
        }
        Value in = plan.value(op.getInputsToOp().get(0));
        long[] iArgs = softmax.iArgs();
        int axis = iArgs == null || iArgs.length == 0 ? -1 : (int) iArgs[0];
        return in != null && in.shape().length == 2 && (axis == 1 || axis == -1);
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        DifferentialFunction f = op.getOp();
        List<String> in = op.getInputsToOp();
        String outName = op.getOutputsOfOp().get(0);
        long[] out = plan.shape(outName);
        if (out == null) {
            return false;
        }
        Elementwise primitive;
        Value a;
        Value b = null;
        if (f instanceof SoftMax) {
            a = plan.require(in.get(0), Value.Kind.F32);
            if (!Arrays.equals(a.shape(), out)) {
                return false;
            }
            primitive = Elementwise.softmaxRows(out[0], out[1]);
        } else if (f instanceof AddOp) {
            if (in.size() != 2 || plan.value(in.get(0)) == null || plan.value(in.get(1)) == null
                    || !Arrays.equals(plan.value(in.get(0)).shape(), out)
                    || !Arrays.equals(plan.value(in.get(1)).shape(), out)) {
                return false;
            }
            a = plan.require(in.get(0), Value.Kind.F32);
            b = plan.require(in.get(1), Value.Kind.F32);
            primitive = Elementwise.add(a.elements());
        } else {
            boolean logistic = f instanceof Sigmoid;
            float slope = logistic ? 0f : reluSlope(op);
            if (Float.isNaN(slope) || in.size() != 1 || plan.value(in.get(0)) == null
                    || !Arrays.equals(plan.value(in.get(0)).shape(), out)) {
                return false;
            }
            a = plan.require(in.get(0), Value.Kind.F32);
            primitive = logistic ? Elementwise.logistic(a.elements()) : Elementwise.relu(a.elements(), slope);
        }
        Value dst = plan.newValue(outName, Value.Kind.F32, ElementType.F32, out, null);
        plan.addPrimitive(new ElementwiseStep(f.opName() + " " + op.getName() + " -> " + dst, primitive, a, b, dst));
        return true;
    }

    /** The negative slope of a ReLU-like op (0 for ReLU), or NaN when the op is none or has another threshold. */
    static float reluSlope(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        if (!(f instanceof RectifiedLinear) && !(f instanceof LeakyReLU)) {
            return Float.NaN;
        }
        INDArray scalar = ((BaseScalarOp) f).scalar();
        double value = scalar == null ? 0 : scalar.getDouble(0);
        if (f instanceof RectifiedLinear) {
            return value == 0 ? 0f : Float.NaN;
        }
        return (float) value;
    }
}
