package org.quant4j.graph;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.quant4j.QuantizationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wraps a user's SameDiff graph as a {@link ModelGraph}, working on a copy so that the user's graph is untouched. */
public final class SameDiffGraphs {

    private static final Logger LOG = LoggerFactory.getLogger(SameDiffGraphs.class);

    private SameDiffGraphs() {
    }

    /**
     * A copy of {@code sd} (made by {@link OpNames#distinctCopy}, which briefly renames clashing op names in
     * {@code sd} and restores them: do not run {@code sd} on another thread meanwhile) with its placeholders as inputs; outputs are the graph's declared outputs, or else every
     * computed variable that no op reads. The "layers" of reports are the outputs of the quantizable ops. Weights
     * behind identity, cast, transpose or reshape ops of constants are folded into constants
     * ({@link ConstantWeights#fold}); each product whose weight is still left in fp32 is logged as a warning.
     */
    public static ModelGraph of(SameDiff sd) {
        SameDiff copy = OpNames.distinctCopy(sd);
        ConstantWeights.fold(copy);
        ConstantWeights.leftInFp32(copy).forEach(LOG::warn);
        List<TensorSpec> inputs = new ArrayList<>();
        for (String name : copy.inputs()) {
            inputs.add(new TensorSpec(name, copy.getVariable(name).placeholderShape()));
        }
        if (inputs.isEmpty()) {
            throw new QuantizationException("the SameDiff graph has no placeholder to feed calibration data to");
        }
        List<String> outputs = copy.outputs() == null ? new ArrayList<>() : new ArrayList<>(copy.outputs());
        if (outputs.isEmpty()) {
            for (Variable v : copy.getVariables().values()) {
                SDVariable var = v.getVariable();
                if (var.getVariableType() == VariableType.ARRAY
                        && (v.getInputsForOp() == null || v.getInputsForOp().isEmpty())) {
                    outputs.add(v.getName());
                }
            }
        }
        if (outputs.isEmpty()) {
            throw new QuantizationException("the SameDiff graph has no output: no computed variable is left unread");
        }
        List<ModelGraph.LayerOutput> layers = new ArrayList<>();
        for (QuantizableOp op : QuantizableOps.find(copy)) {
            layers.add(new ModelGraph.LayerOutput(op.output(), op.type(), op.output()));
        }
        for (String output : outputs) {
            if (layers.stream().noneMatch(l -> l.variable().equals(output))) {
                layers.add(new ModelGraph.LayerOutput(output, "output", output));
            }
        }
        return new ModelGraph(copy, inputs, outputs, layers);
    }
}
