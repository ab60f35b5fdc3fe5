package org.quant4j.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DeConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;

/**
 * Weights that reach a product through ops of constants, as graphs imported from ONNX or TensorFlow hold them: a
 * weight behind {@code identity}, {@code cast}, {@code transpose}, {@code permute}, {@code reshape}, {@code squeeze}
 * or {@code expand_dims} ops whose every input is a constant (or a trainable variable) is folded into one constant
 * holding the same values ({@link #fold}), so that the product is quantized like any other. A product whose weight
 * still cannot be quantized, computed from constants by other ops, or of a form {@link QuantizableOps} does not take
 * (a batched or transposed-first matrix product), is named by {@link #leftInFp32}, so that it is reported, never left
 * in fp32 silently.
 */
public final class ConstantWeights {

    /** The ops folded: each only moves, retypes or relabels its input's values. */
    private static final Set<String> FOLDED = Set.of("identity", "cast", "transpose", "permute", "reshape",
            "squeeze", "expand_dims");

    private ConstantWeights() {
    }

    /**
     * Folds every product's weight computed from constants by {@link #FOLDED} ops alone into a constant of the same
     * name and values (the ops only it needed are removed); returns the names folded. Changes {@code sd}: call it
     * on a copy.
     */
    public static List<String> fold(SameDiff sd) {
        List<String> folded = new ArrayList<>();
        for (SameDiffOp op : new ArrayList<>(sd.getOps().values())) {
            List<String> in = op.getInputsToOp();
            if (!isProduct(op) || in == null || in.size() < 2 || !sd.getOps().containsKey(op.getName())) {
                continue;
            }
            String weight = in.get(1);
            if (isComputed(sd, weight) && constantThrough(sd, weight, FOLDED)) {
                INDArray value = GraphExecution.output(sd, Map.of(), List.of(weight)).get(weight).dup();
                GraphEditing.replaceWithConstant(sd, weight, value);
                folded.add(weight);
            }
        }
        return folded;
    }

    /**
     * The products whose weight, a constant or computed from constants, is left in fp32: one line each naming the
     * op, its type and why.
     */
    public static List<String> leftInFp32(SameDiff sd) {
        Set<String> quantized = new HashSet<>();
        QuantizableOps.find(sd).forEach(q -> quantized.add(q.op()));
        QuantizableOps.weightOnly(sd).forEach(w -> quantized.addAll(w.readers()));
        List<String> left = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            List<String> in = op.getInputsToOp();
            if (!isProduct(op) || in == null || in.size() < 2 || quantized.contains(op.getName())) {
                continue;
            }
            String weight = in.get(1);
            String opType = op.getOp().opName();
            String product = "the product '" + op.getOutputsOfOp().get(0) + "' (" + opType;
            if (isComputed(sd, weight) && constantThrough(sd, weight, null)) {
                left.add(product + "): its weight '" + weight + "' is computed from"
                        + " constants by " + producers(sd, weight) + ", which quant4j does not fold: left in fp32");
            } else if (!isComputed(sd, weight) && sd.getVariable(weight) != null
                    && sd.getVariable(weight).getVariableType() != VariableType.PLACEHOLDER) {
                long[] shape = sd.getVariable(weight).getShape();
                String form = op.getOp() instanceof Mmul ? ", " + properties(op) : "";
                left.add(product + form + "): its weight '" + weight
                        + "' of shape " + Arrays.toString(shape) + " is not of a form quant4j quantizes (rank-2"
                        + " matrix products, not transposing their first operand): left in fp32");
            }
        }
        return left;
    }

    private static boolean isProduct(SameDiffOp op) {
        return op.getOp() instanceof Mmul || op.getOp() instanceof XwPlusB || op.getOp() instanceof Conv2D
                || op.getOp() instanceof DepthwiseConv2D || op.getOp() instanceof DeConv2D;
    }

    private static boolean isComputed(SameDiff sd, String name) {
        Variable v = sd.getVariables().get(name);
        return v != null && v.getOutputOfOp() != null;
    }

    /**
     * Whether {@code name} is computed from constants and trainable variables alone (no placeholder on the way),
     * through ops of {@code allowed} types only ({@code null}: any).
     */
    private static boolean constantThrough(SameDiff sd, String name, Set<String> allowed) {
        Deque<String> pending = new ArrayDeque<>(List.of(name));
        Set<String> seen = new HashSet<>();
        while (!pending.isEmpty()) {
            String v = pending.pop();
            if (!seen.add(v)) {
                continue;
            }
            SDVariable var = sd.getVariable(v);
            if (var == null || var.getVariableType() == VariableType.PLACEHOLDER) {
                return false;
            }
            Variable meta = sd.getVariables().get(v);
            if (meta.getOutputOfOp() == null) {
                continue; // a constant or trainable variable
            }
            SameDiffOp producer = sd.getOps().get(meta.getOutputOfOp());
            if (producer == null || allowed != null && !allowed.contains(producer.getOp().opName())) {
                return false;
            }
            if (producer.getInputsToOp() != null) {
                pending.addAll(producer.getInputsToOp());
            }
        }
        return true;
    }

    private static String producers(SameDiff sd, String name) {
        SameDiffOp producer = sd.getOps().get(sd.getVariables().get(name).getOutputOfOp());
        return "'" + producer.getName() + "' (" + producer.getOp().opName() + ")";
    }

    private static String properties(SameDiffOp op) {
        Map<String, Object> p = op.getOp().propertiesForFunction();
        List<String> set = new ArrayList<>();
        for (String key : List.of("transposeA", "transposeB", "transposeResult")) {
            if (Boolean.TRUE.equals(p.get(key))) {
                set.add(key);
            }
        }
        return set.isEmpty() ? "no transposes" : String.join(", ", set);
    }
}
