package org.quant4j.runtime;

import java.util.List;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.shape.Concat;

/** A concatenation of tensors of rank 1 to 4 along one axis: the f32 oneDNN concat primitive (exact). */
final class ConcatenationLowering implements OpLowering {

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        return op.getOp() instanceof Concat;
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        List<String> in = op.getInputsToOp();
        String outName = op.getOutputsOfOp().get(0);
        long[] out = plan.shape(outName);
        long[] a = ((Concat) op.getOp()).iArgs();
        if (out == null || out.length > 4 || in.isEmpty() || a == null || a.length != 1) {
            return false;
        }
        int axis = (int) (a[0] < 0 ? a[0] + out.length : a[0]);
        long[][] inShapes = new long[in.size()][];
        long along = 0;
        for (int i = 0; i < in.size(); i++) {
            Value v = plan.value(in.get(i));
            if (v == null || v.shape() == null || v.rank() != out.length || axis < 0 || axis >= out.length) {
                return false;
            }
            for (int d = 0; d < out.length; d++) {
                if (d != axis && v.shape()[d] != out[d]) {
                    return false;
                }
            }
            inShapes[i] = v.shape();
            along += v.shape()[axis];
        }
        if (along != out[axis]) {
            return false;
        }
        Value[] sources = new Value[in.size()];
        for (int i = 0; i < sources.length; i++) {
            sources[i] = plan.require(in.get(i), Value.Kind.F32);
        }
        Concatenation primitive = new Concatenation(inShapes, axis);
        Value dst = plan.newValue(outName, Value.Kind.F32, ElementType.F32, out, null);
        plan.addPrimitive(new ConcatStep("concat " + op.getName() + " -> " + dst, primitive, sources, dst));
        return true;
    }
}
