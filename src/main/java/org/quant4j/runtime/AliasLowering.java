package org.quant4j.runtime;

import java.util.Arrays;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;

/**
 * Identity: the same value. Reshape: a no-op reshape, or a flatten [N, C, H, W] -> [N, C H W] of levels (free: the
 * NHWC buffer read in h, w, c order; the dense weights after it are permuted to match). No step either way: the
 * result shares its operand's slot.
 */
final class AliasLowering implements OpLowering {

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        return op.getOp() instanceof Identity || op.getOp() instanceof Reshape;
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        Value x = plan.value(op.getInputsToOp().get(0));
        String out = op.getOutputsOfOp().get(0);
        if (x == null) {
            return false;
        }
        if (op.getOp() instanceof Identity) {
            plan.alias(new Value(out, x.kind(), x.type(), x.shape(), x.scales(), x.flattenedFrom(), x.slot(),
                    x.zeroPoints()));
            return true;
        }
        long[] shape = plan.shape(out);
        if (shape == null || x.shape() == null) {
            return false;
        }
        if (Arrays.equals(shape, x.shape())) {
            plan.alias(new Value(out, x.kind(), x.type(), shape, x.scales(), x.flattenedFrom(), x.slot(),
                    x.zeroPoints()));
            return true;
        }
        if (x.kind() == Value.Kind.LEVELS && x.rank() == 4 && shape.length == 2 && shape[0] == x.shape()[0]
                && shape[1] == x.shape()[1] * x.shape()[2] * x.shape()[3]) {
            plan.alias(new Value(out, x.kind(), x.type(), shape, x.scales(), x.shape(), x.slot(), x.zeroPoints()));
            return true;
        }
        return false;
    }
}
