package org.quant4j.runtime;

import java.util.Map;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;

/**
 * A quantized dense layer ({@code xw_plus_b}, or a {@code matmul} without transposes) reading rank-2 levels: an int8
 * {@link Int8Dense}. After a flatten of NHWC levels its weights are permuted into NHWC feature order once. Levels
 * with zero points: compensated in the bias ({@link KernelLowering#compensatedBias}, exact for a dense layer; oneDNN
 * 2.5's inner product takes no zero points).
 */
final class DenseLowering extends KernelLowering {

    @Override
    boolean takesKernel(SameDiffOp op, Value x) {
        DifferentialFunction f = op.getOp();
        boolean dense = f instanceof XwPlusB || (f instanceof Mmul && op.getInputsToOp().size() == 2 && plainMmul(op));
        return dense && x.rank() == 2;
    }

    @Override
    boolean fusesResidual() {
        return false;
    }

    @Override
    Made make(Spec s) {
        Value x = s.x();
        long features = x.shape()[1];
        long outChannels = s.outShape()[1];
        byte[] levels = WeightLayouts.dense(s.weights(), x, features, outChannels);
        long macs = x.shape()[0] * features * outChannels;
        float[] bias = s.bias();
        if (x.hasZeroPoints()) {
            // Features in the buffer's order: (h, w, c) after a flatten of NHWC levels, else one per channel.
            long channels = x.flattenedFrom() != null ? x.flattenedFrom()[1] : features;
            bias = compensatedBias(bias, levels, (int) outChannels, 1, (int) features, 1,
                    f -> x.zeroPoint(f % channels));
        }
        Int8Dense k = new Int8Dense(x.shape()[0], features, outChannels, x.type(), s.dstType(), levels, bias,
                s.outputScales(), s.relu(), s.clip());
        return new Made(k, k.dstBytes(), k::execute, macs);
    }

    private static boolean plainMmul(SameDiffOp op) {
        Map<String, Object> p = op.getOp().propertiesForFunction();
        return !Boolean.TRUE.equals(p.get("transposeA")) && !Boolean.TRUE.equals(p.get("transposeB"))
                && !Boolean.TRUE.equals(p.get("transposeResult"));
    }
}
