package org.quant4j.graph;

import org.nd4j.autodiff.samediff.SameDiff;

/** Small edits of a SameDiff graph that SameDiff M2.1 has no call for. */
final class GraphEditing {

    private GraphEditing() {
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
}
