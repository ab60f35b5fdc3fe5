package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;

/**
 * An fp32 island run as the library op itself ({@code Nd4j.exec} of a custom op with the graph op's name and
 * arguments, the same native code SameDiff runs) instead of a SameDiff call, which costs about 2 ms however small
 * the op: for an op with a custom-op kernel of its own, reading plan values and plain constants.
 */
final class LibraryIslandLowering implements OpLowering {

    /**
     * The ops the zoo's plans keep as islands most, each checked against the fake-quant graph by the int8 tests
     * (softmax over other ranks and paddings other than constant ones: {@link ElementwiseLowering} and
     * {@link PadLowering} take a rank-2 softmax and a constant padding first; BatchNorm after a ReLU and LRN in
     * {@code Int8GraphTest}, average pooling in {@code RandomNetworkPropertiesTest} and the zoo SimpleCNN), and the
     * subtract and multiply of an
     * input normalizer built in at the network's input ({@code InputNormalizationTest}: the int8 plan against the
     * fake-quant graph).
     */
    private static final Set<String> OPS = Set.of("softmax", "pad", "batchnorm", "lrn", "avgpool2d", "subtract",
            "multiply", "permute", "reshape", "strided_slice", "shape_of", "cast", "concat");

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        if (!(op.getOp() instanceof DynamicCustomOp custom) || !OPS.contains(custom.opName())
                || op.getOutputsOfOp().size() != 1) {
            return false;
        }
        SameDiff sd = plan.sd();
        for (String name : op.getInputsToOp()) {
            if (!PlanGraph.isConstant(sd, name)
                    && (PlanGraph.constantDerivedVariable(sd, name) || plan.value(name) == null)) {
                return false;
            }
            if (PlanGraph.isConstant(sd, name) && sd.getVariable(name).getArr() == null) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        SameDiff sd = plan.sd();
        DynamicCustomOp custom = (DynamicCustomOp) op.getOp();
        List<String> in = op.getInputsToOp();
        Object[] args = new Object[in.size()];
        List<Integer> reads = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String name = in.get(i);
            if (PlanGraph.isConstant(sd, name)) {
                args[i] = sd.getVariable(name).getArr();
            } else {
                Value v = plan.require(name, Value.Kind.ND4J);
                args[i] = v;
                reads.add(v.slot());
            }
        }
        String opName = custom.opName();
        String name = op.getOutputsOfOp().get(0);
        Value out = plan.newValue(name, Value.Kind.ND4J, ElementType.F32, plan.shape(name), null);
        plan.addIsland(new LibraryIslandStep("island " + opName + " " + op.getName(),
                reads.stream().mapToInt(Integer::intValue).toArray(), opName, args, custom.iArgs(), custom.tArgs(),
                custom.bArgs(), custom.dArgs(), out), opName);
        return true;
    }
}
