package org.quant4j.graph;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Small edits of a SameDiff graph that SameDiff M2.1 has no call for. */
final class GraphEditing {

    private GraphEditing() {
    }

    /**
     * The bias array of a convolution, depthwise convolution or dense op (its third input); an op without one first
     * gets a zero bias of {@code channels} values, the constant {@code <output>:bias}.
     */
    static INDArray biasOf(SameDiff sd, SameDiffOp op, long channels, org.nd4j.linalg.api.buffer.DataType type) {
        List<String> in = op.getInputsToOp();
        if (in.size() > 2) {
            return sd.getVariable(in.get(2)).getArr();
        }
        org.nd4j.autodiff.samediff.SDVariable bias = sd.constant(op.getOutputsOfOp().get(0) + ":bias",
                org.nd4j.linalg.factory.Nd4j.zeros(type, channels));
        // addArgsFor replaces the op's arguments (M2.1): pass them all.
        sd.addArgsFor(new org.nd4j.autodiff.samediff.SDVariable[] {sd.getVariable(in.get(0)),
                sd.getVariable(in.get(1)), bias}, op.getOp());
        return bias.getArr();
    }

    /** Removes a constant or trainable variable that no op reads any more, with its array. */
    static void removeConstant(SameDiff sd, String name) {
        sd.getVariables().remove(name);
        if (sd.getConstantArrays().hasArray(name)) {
            sd.getConstantArrays().removeArray(name);
        }
        if (sd.getVariablesArrays().hasArray(name)) {
            sd.getVariablesArrays().removeArray(name);
        }
    }

    /**
     * Turns {@code name}, the output of an op, into a constant holding {@code value}, read by the same ops; the ops
     * and constants that only served to compute it are removed.
     */
    static void replaceWithConstant(SameDiff sd, String name, INDArray value) {
        Variable v = sd.getVariables().get(name);
        if (v == null || v.getOutputOfOp() == null) {
            throw new IllegalArgumentException("'" + name + "' is not the output of an op");
        }
        List<String> readers = v.getInputsForOp() == null ? new ArrayList<>() : new ArrayList<>(v.getInputsForOp());
        String producer = v.getOutputOfOp();
        v.setInputsForOp(new ArrayList<>());
        removeOpIfUnread(sd, producer);
        if (sd.getVariables().containsKey(name)) {
            throw new IllegalStateException("'" + name + "' is still computed by op '" + producer + "'");
        }
        sd.constant(name, value);
        sd.getVariables().get(name).setInputsForOp(readers);
    }

    /** Removes op {@code opName} when none of its outputs is read, then whatever only fed it. */
    private static void removeOpIfUnread(SameDiff sd, String opName) {
        SameDiffOp op = sd.getOps().get(opName);
        if (op == null) {
            return;
        }
        for (String out : op.getOutputsOfOp()) {
            Variable o = sd.getVariables().get(out);
            if (o != null && o.getInputsForOp() != null && !o.getInputsForOp().isEmpty()) {
                return;
            }
        }
        sd.getOps().remove(opName);
        op.getOutputsOfOp().forEach(out -> sd.getVariables().remove(out));
        List<String> inputs = op.getInputsToOp() == null ? List.of() : op.getInputsToOp();
        for (String in : new LinkedHashSet<>(inputs)) {
            Variable u = sd.getVariables().get(in);
            if (u == null) {
                continue;
            }
            List<String> left = new ArrayList<>(u.getInputsForOp() == null ? List.of() : u.getInputsForOp());
            left.removeIf(opName::equals);
            u.setInputsForOp(left);
            if (!left.isEmpty()) {
                continue;
            }
            if (u.getOutputOfOp() != null) {
                removeOpIfUnread(sd, u.getOutputOfOp());
            } else if (u.getVariable().getVariableType() == VariableType.CONSTANT) {
                removeConstant(sd, in);
            }
        }
    }

    /** Makes each of {@code opNames} read a new placeholder named {@code placeholder} wherever it read {@code from}. */
    static void redirect(SameDiff sd, String from, String placeholder, List<String> opNames) {
        org.nd4j.autodiff.samediff.SDVariable original = sd.getVariable(from);
        org.nd4j.autodiff.samediff.SDVariable input = sd.hasVariable(placeholder) ? sd.getVariable(placeholder)
                : sd.placeHolder(placeholder, original.dataType(), (long[]) null);
        for (String name : new java.util.LinkedHashSet<>(opNames)) {
            SameDiffOp op = sd.getOps().get(name);
            List<String> inputs = op.getInputsToOp();
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i).equals(from)) {
                    sd.replaceArgFor(i, input, op.getOp());
                }
            }
        }
    }
}
