package org.quant4j.runtime;

import java.util.Arrays;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.reduce.same.Max;

/**
 * Max pooling (on levels, as max pooling commutes with a monotonic quantizer, or on f32), and global average or max
 * pooling over H and W (a mean or max over dimensions 2 and 3; f32, max also on levels): a {@link Pool2d} primitive.
 */
final class PoolingLowering implements OpLowering {

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        DifferentialFunction f = op.getOp();
        return f instanceof MaxPooling2D || f instanceof Mean || f instanceof Max;
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        DifferentialFunction f = op.getOp();
        if (op.getInputsToOp().size() != 1) {
            return false;
        }
        Value x = plan.value(op.getInputsToOp().get(0));
        String outName = op.getOutputsOfOp().get(0);
        long[] out = plan.shape(outName);
        if (x == null || x.shape() == null || x.rank() != 4 || out == null || x.flattenedFrom() != null) {
            return false;
        }
        long[] in = x.shape();
        long[] out4;
        long kH;
        long kW;
        long sH;
        long sW;
        long[] pad;
        Pool2d.Kind kind;
        if (f instanceof MaxPooling2D) {
            long[] a = ((MaxPooling2D) f).iArgs();
            if (a == null || a.length < 9 || a[6] != 1 || a[7] != 1 || (a.length > 10 && a[10] != 0)) {
                return false;
            }
            kH = a[0];
            kW = a[1];
            sH = a[2];
            sW = a[3];
            pad = Padding.of(in[2], in[3], out[2], out[3], kH, kW, sH, sW, 1, 1, a[4], a[5], a[8] == 1);
            out4 = out;
            kind = Pool2d.Kind.MAX;
        } else {
            INDArray dims = ((BaseReduceOp) f).dimensions();
            if (dims == null || !Arrays.equals(dims.toLongVector(), new long[] {2, 3})) {
                return false;
            }
            kH = in[2];
            kW = in[3];
            sH = 1;
            sW = 1;
            pad = new long[4];
            out4 = new long[] {in[0], in[1], 1, 1};
            kind = f instanceof Mean ? Pool2d.Kind.AVG_EXCLUDE_PADDING : Pool2d.Kind.MAX;
            if (!(Arrays.equals(out, out4) || Arrays.equals(out, new long[] {in[0], in[1]}))) {
                return false;
            }
        }
        Value src = kind == Pool2d.Kind.MAX && x.kind() == Value.Kind.LEVELS ? x
                : plan.require(x.name(), Value.Kind.F32);
        Pool2d pool = new Pool2d(kind, src.type(), in, out4, kH, kW, sH, sW, pad);
        Value dst = src.kind() == Value.Kind.LEVELS
                ? plan.newLevelsValue(outName, src.type(), out, src.scales(), src.zeroPoints())
                : plan.newValue(outName, Value.Kind.F32, ElementType.F32, out, null);
        plan.addPrimitive(new PoolStep(f.opName() + " " + op.getName() + " -> " + dst, pool, src, dst));
        return true;
    }
}
