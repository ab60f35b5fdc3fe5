package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.ScalarOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * An fp32 island run as the library op itself instead of a SameDiff call, which costs about 2 ms however small the
 * op: a custom op with a kernel of its own ({@code Nd4j.exec} with the graph op's name and arguments, the same native
 * code SameDiff runs); a legacy reduction (max, sum, mean) as libnd4j's declarable reduction of the same name over
 * the same dimensions; exp and the scalar arithmetic through ND4J's own calls. Inputs are plan values and plain
 * constants.
 */
final class LibraryIslandLowering implements OpLowering {

    /**
     * The custom ops the zoo's plans keep as islands most, each checked against the fake-quant graph by the int8
     * tests (softmax over other ranks and paddings other than constant ones: {@link ElementwiseLowering} and
     * {@link PadLowering} take a rank-2 softmax and a constant padding first; BatchNorm after a ReLU and LRN in
     * {@code Int8GraphTest}, average pooling in {@code RandomNetworkPropertiesTest} and the zoo SimpleCNN), the
     * subtract and multiply of an input normalizer built in at the network's input ({@code InputNormalizationTest}),
     * and attention's batched products and the divide of its softmax ({@code AttentionQuantizationTest}).
     */
    private static final Set<String> OPS = Set.of("softmax", "pad", "batchnorm", "lrn", "avgpool2d", "subtract",
            "multiply", "permute", "reshape", "strided_slice", "shape_of", "cast", "concat", "matmul", "divide");
    /** Legacy reductions with a declarable op of the same name and meaning (dimensions, keepDims). */
    private static final Set<String> REDUCTIONS = Set.of("reduce_max", "reduce_sum", "reduce_mean");
    private static final Set<String> SCALAR = Set.of("div_scalar", "mul_scalar", "add_scalar", "sub_scalar");

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        if (op.getOutputsOfOp().size() != 1 || function(op) == null) {
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

    /** What the step computes from its inputs, or null for an op this lowering does not take. */
    private static Function<INDArray[], INDArray> function(SameDiffOp op) {
        List<String> in = op.getInputsToOp();
        if (op.getOp() instanceof DynamicCustomOp custom && OPS.contains(custom.opName())) {
            String opName = custom.opName();
            long[] iArgs = custom.iArgs();
            double[] tArgs = custom.tArgs();
            boolean[] bArgs = custom.bArgs();
            DataType[] dArgs = custom.dArgs();
            return x -> {
                DynamicCustomOp call = DynamicCustomOp.builder(opName).build();
                for (INDArray a : x) {
                    call.addInputArgument(a);
                }
                call.addIArgument(iArgs);
                call.addTArgument(tArgs);
                call.addBArgument(bArgs);
                if (dArgs != null && dArgs.length > 0) {
                    call.addDArgument(dArgs);
                }
                return Nd4j.exec(call)[0];
            };
        }
        if (in == null || in.size() != 1) {
            return null;
        }
        if (op.getOp() instanceof BaseReduceOp reduce && REDUCTIONS.contains(reduce.opName())
                && reduce.getDimensions() != null && reduce.getDimensions().length > 0) {
            String opName = reduce.opName();
            int[] dimensions = reduce.getDimensions().clone();
            boolean keepDims = reduce.isKeepDims();
            return x -> Nd4j.exec(DynamicCustomOp.builder(opName).addInputs(x[0]).addIntegerArguments(dimensions)
                    .addBooleanArguments(keepDims).build())[0];
        }
        if (op.getOp() instanceof Exp) {
            return x -> Transforms.exp(x[0], true);
        }
        if (op.getOp() instanceof ScalarOp scalar && SCALAR.contains(op.getOp().opName())
                && scalar.scalar() != null) {
            double value = scalar.scalar().getDouble(0);
            return switch (op.getOp().opName()) {
                case "div_scalar" -> x -> x[0].div(value);
                case "mul_scalar" -> x -> x[0].mul(value);
                case "add_scalar" -> x -> x[0].add(value);
                default -> x -> x[0].sub(value);
            };
        }
        return null;
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        SameDiff sd = plan.sd();
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
        String opName = op.getOp().opName();
        String name = op.getOutputsOfOp().get(0);
        Value out = plan.newValue(name, Value.Kind.ND4J, ElementType.F32, plan.shape(name), null);
        plan.addIsland(new LibraryIslandStep("island " + opName + " " + op.getName(),
                reads.stream().mapToInt(Integer::intValue).toArray(), args, function(op), out), opName);
        return true;
    }
}
