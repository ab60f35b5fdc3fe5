package org.quant4j.graph;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Dynamic quantization of the data input of the matrix products that read a weight quantized on its own
 * ({@link WeightOnly}: the recurrent weights of a layer unrolled over its time steps; with dynamic quantization,
 * {@code Quantizer.quantizeDynamic}, every dense layer's and recurrent layer's weights), as PyTorch's
 * {@code quantize_dynamic} does for an LSTM's hidden state: no calibrated range, but one scale per call and tensor,
 * computed from the values themselves,
 * <pre>  s = max(max |h|, MIN_RANGE) / 127,   h_q = clip(rint(h / s), -127, 127) * s</pre>
 * (symmetric, 8 bits). The product {@code h_q · W_q} is then exactly what an int8 kernel computes from the levels
 * {@code rint(h / s)} and the weight's levels, scaled by {@code s s_w[o]}: the int8 runtime computes the same scale
 * and levels at run time (in float, as these ops do). Variables: {@code <h>:dyn_amax}, {@code <h>:dyn_scale},
 * {@code <h>:dyn_levels}, {@code <h>:dyn_fq}.
 */
public final class DynamicInputs {

    /** The largest level of the symmetric 8-bit grid. */
    public static final float QMAX = 127f;
    /** The smallest range {@code max |h|} taken (an all-zero h: levels 0 and a finite scale). */
    public static final float MIN_RANGE = 1e-12f;

    private DynamicInputs() {
    }

    /** The name of the dynamically fake-quantized {@code tensor}. */
    public static String fakeQuant(String tensor) {
        return tensor + ":dyn_fq";
    }

    /** The tensor a {@link #fakeQuant} name is of, or null for any other name. */
    public static String tensorOf(String name) {
        return name.endsWith(":dyn_fq") ? name.substring(0, name.length() - ":dyn_fq".length()) : null;
    }

    /**
     * Whether weight quantization {@code t} is weight only ({@code t.input() == null}) and read by matrix products
     * only ({@code matmul} of two operands, {@code xw_plus_b}), as their second operand: then their first operands
     * are quantized dynamically.
     */
    static boolean appliesTo(SameDiff sd, TensorQuantization t) {
        if (t.kind() != TensorQuantization.Kind.WEIGHT || t.input() != null || t.consumers().isEmpty()
                || t.rank() != 2) {
            return false;
        }
        for (String name : t.consumers()) {
            SameDiffOp op = sd.getOps().get(name);
            if (op == null) {
                return false;
            }
            List<String> in = op.getInputsToOp();
            boolean product = op.getOp() instanceof Mmul && in.size() == 2
                    || op.getOp() instanceof XwPlusB && in.size() == 3;
            if (!product || in.indexOf(PointNames.dequantized(t.tensor())) != 1) {
                return false;
            }
        }
        return true;
    }

    /**
     * Quantizes the first operand of each of {@code consumers} dynamically: one set of ops per operand, shared by
     * every product that reads it (also products of other weights, as the key and value projections of
     * self-attention read the same rows).
     */
    static void quantizeInputs(SameDiff sd, List<String> consumers) {
        for (String name : consumers) {
            SameDiffOp op = sd.getOps().get(name);
            String x = op.getInputsToOp().get(0);
            SDVariable fq = sd.hasVariable(fakeQuant(x)) ? sd.getVariable(fakeQuant(x)) : insert(sd, sd.getVariable(x));
            sd.replaceArgFor(0, fq, op.getOp());
        }
    }

    private static SDVariable insert(SameDiff sd, SDVariable x) {
        String n = x.name();
        SDVariable amax = sd.math.abs(x).max(n + ":dyn_amax");
        SDVariable range = sd.math.max(amax, sd.constant(n + ":dyn_min", Nd4j.scalar(x.dataType(), MIN_RANGE)));
        SDVariable scale = sd.math.div(n + ":dyn_scale", range,
                sd.constant(n + ":dyn_qmax", Nd4j.scalar(x.dataType(), QMAX)));
        SDVariable rounded = new Rint(sd, sd.math.div(x, scale), false).outputVariable();
        SDVariable levels = sd.math.clipByValue(n + ":dyn_levels", rounded, -QMAX, QMAX);
        return sd.math.mul(fakeQuant(n), levels, scale);
    }
}
