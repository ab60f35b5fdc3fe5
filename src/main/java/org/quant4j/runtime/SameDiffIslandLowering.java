package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.quant4j.graph.PointNames;

/**
 * Any other op (BatchNorm not folded, tanh, upsampling, a reshape other than a flatten, keep-fp32 layers...): an
 * fp32 island on ND4J arrays in the graph's layout (NCHW), run on its own through SameDiff in the islands graph,
 * whose every op reads its non-constant inputs from placeholders ({@code <v>#in}). Takes every op: the last
 * lowering of {@link Lowerings}.
 */
final class SameDiffIslandLowering implements OpLowering {

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        return true;
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        SameDiff sd = plan.sd();
        Map<String, Value> feed = new LinkedHashMap<>();
        for (String in : op.getInputsToOp()) {
            if (PlanGraph.isConstant(sd, in) || PlanGraph.constantDerivedVariable(sd, in)) {
                continue;
            }
            Value v = plan.require(in, Value.Kind.ND4J);
            if (v == null) {
                throw new IllegalStateException("op '" + op.getName() + "' reads '" + in + "', which the plan lacks");
            }
            feed.put(PointNames.islandInput(in), v);
        }
        List<String> names = op.getOutputsOfOp();
        List<Value> outs = new ArrayList<>();
        for (String name : names) {
            outs.add(plan.newValue(name, Value.Kind.ND4J, ElementType.F32, plan.shape(name), null));
        }
        String type = op.getOp().opName();
        plan.addIsland(new SameDiffIslandStep("island " + type + " " + op.getName() + " via SameDiff",
                plan.islandGraph(), feed, names, outs), type);
        return true;
    }
}
