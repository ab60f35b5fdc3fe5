package org.quant4j.runtime;

import java.util.ArrayDeque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.DynamicInputs;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;

/**
 * An LSTM layer as the converter unrolls it ({@code convert.LstmConverter}: the input products {@code <L>/preact}
 * of all steps, reshaped to {@code <L>/preact_steps} and unstacked into {@code <L>/t<k>/p}, the cell ops of each
 * step, the h_t stacked into {@code <L>}) with its recurrent weights {@code <L>/RW} quantized (weight only) and the
 * hidden state quantized dynamically ({@link DynamicInputs}): one {@link LstmStep}, the recurrent products int8.
 *
 * <p>Taken at the reshape to {@code <L>/preact_steps}, and only when the ops between it and the stack are exactly a
 * plain LSTM's: the gate variables {@code <L>/t<k>/a, f, i, o, act_c} computed by g, sigmoid, sigmoid, sigmoid, g
 * (g the layer's activation, tanh or sigmoid), each step's product reading {@code h_{t-1}}'s dynamic levels and
 * {@code <L>/RW}, nothing from outside but constants, nothing read from outside but the stack, and as many ops of
 * each type as the converter makes. Anything else (peepholes, masks, other activations, an edited graph) is left to
 * the op-by-op lowerings.
 */
final class LstmLowering implements OpLowering {

    private static final String STEPS = "/preact_steps";

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        List<String> out = op.getOutputsOfOp();
        return op.getOp().opName().equals("reshape") && out.size() == 1 && out.get(0).endsWith(STEPS)
                && Dnnl.exactSignedSources();
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        String reshaped = op.getOutputsOfOp().get(0);
        String layer = reshaped.substring(0, reshaped.length() - STEPS.length());
        PlanGraph g = plan.graph();
        SameDiffOp unstack = g.onlyReader(reshaped);
        SameDiffOp stack = g.producer(layer);
        TensorQuantization rw = plan.weight(layer + "/RW");
        if (unstack == null || !unstack.getOp().opName().equals("unstack") || stack == null
                || !stack.getOp().opName().equals("stack") || rw == null || rw.grid().bits() > 8
                || !plan.sd().hasVariable(PointNames.levels(rw.tensor()))) {
            return false;
        }
        int steps = unstack.getOutputsOfOp().size();
        long[] pShape = plan.shape(layer + "/preact");
        long[] outShape = plan.shape(layer);
        INDArray levels = plan.sd().getVariable(PointNames.levels(rw.tensor())).getArr();
        if (steps < 2 || pShape == null || outShape == null || outShape.length != 3 || levels.rank() != 2
                || pShape.length != 2 || pShape[0] % steps != 0 || levels.size(1) != 4 * levels.size(0)
                || pShape[1] != levels.size(1)) {
            return false;
        }
        int hidden = (int) levels.size(0);
        int batch = (int) (pShape[0] / steps);
        Set<SameDiffOp> region = region(g, unstack, stack);
        SameDiffOp blockInput = g.producer(layer + "/t0/a");
        String activation = blockInput == null ? "" : blockInput.getOp().opName();
        if (region == null || !(activation.equals("tanh") || activation.equals("sigmoid"))
                || !plainCells(plan, layer, steps, rw.tensor(), unstack, stack, activation)
                || !expectedCounts(region, steps, activation.equals("tanh"))) {
            return false;
        }
        int timeAxis = timeAxis(stack);
        long[] expected = timeAxis == 1 ? new long[] {batch, steps, hidden} : new long[] {batch, hidden, steps};
        if ((timeAxis != 1 && timeAxis != 2) || !java.util.Arrays.equals(outShape, expected)) {
            return false;
        }
        Value p = plan.require(layer + "/preact", Value.Kind.F32);
        if (p == null) {
            return false;
        }
        float[] scales = rw.scales();
        LstmStep step = new LstmStep("lstm " + layer + " (int8 h RW, " + steps + " steps, " + activation + ") -> "
                + layer, p, plan.newValue(layer, Value.Kind.F32, ElementType.F32, outShape, null), batch, hidden,
                steps, timeAxis, activation.equals("tanh"), transposed(levels), scales);
        plan.absorb(region);
        plan.absorb(List.of(unstack));
        plan.addKernel(step, step.macs(), false);
        return true;
    }

    /**
     * The ops from the unstack to the stack (both included) and every op reading their results (the dead ends: the
     * forget gate of the first step, which has no cell state to act on): null when data enters them from elsewhere
     * than the unstack and constants, or when one of them is a graph output (a reader outside the layer pulls in the
     * rest of the network, which ends in one).
     */
    private static Set<SameDiffOp> region(PlanGraph g, SameDiffOp unstack, SameDiffOp stack) {
        Set<SameDiffOp> region = new LinkedHashSet<>();
        ArrayDeque<SameDiffOp> queue = new ArrayDeque<>(List.of(unstack));
        region.add(unstack);
        while (!queue.isEmpty()) {
            SameDiffOp op = queue.poll();
            if (op == stack) {
                continue;
            }
            for (String out : op.getOutputsOfOp()) {
                if (g.isOutput(out)) {
                    return null;
                }
                for (String r : g.readers(out)) {
                    SameDiffOp reader = g.sd().getOps().get(r);
                    if (region.add(reader)) {
                        queue.add(reader);
                    }
                }
            }
        }
        if (!region.contains(stack)) {
            return null;
        }
        Set<String> produced = new java.util.HashSet<>();
        region.forEach(op -> produced.addAll(op.getOutputsOfOp()));
        for (SameDiffOp op : region) {
            if (op == unstack) {
                continue;
            }
            for (String in : op.getInputsToOp()) {
                if (!produced.contains(in) && !PlanGraph.isConstant(g.sd(), in)
                        && !PlanGraph.constantDerivedVariable(g.sd(), in)) {
                    return null;
                }
            }
        }
        return region;
    }

    /** Whether each step's named variables are a plain LSTM cell's (tanh block input, sigmoid gates, no peepholes). */
    private static boolean plainCells(PlanBuilder plan, String layer, int steps, String rw, SameDiffOp unstack,
            SameDiffOp stack, String activation) {
        PlanGraph g = plan.graph();
        if (plan.sd().hasVariable(layer + "/peephole_f") || stack.getInputsToOp().size() != steps) {
            return false;
        }
        for (int t = 0; t < steps; t++) {
            String s = layer + "/t" + t + "/";
            if (!unstack.getOutputsOfOp().get(t).equals(s + "p") || !stack.getInputsToOp().get(t).equals(s + "h")
                    || !type(g, s + "a", activation) || !type(g, s + "f", "sigmoid") || !type(g, s + "i", "sigmoid")
                    || !type(g, s + "o", "sigmoid") || !type(g, s + "act_c", activation)
                    || !type(g, s + "h", "multiply")) {
                return false;
            }
            if (t > 0) {
                SameDiffOp product = g.producer(s + "recurrent");
                if (product == null || !product.getOp().opName().equals("matmul") || !product.getInputsToOp().equals(
                        List.of(DynamicInputs.fakeQuant(layer + "/t" + (t - 1) + "/h"), PointNames.dequantized(rw)))) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Whether the region has as many ops of each type as the converter makes for a plain LSTM of {@code steps}
     * steps with dynamic hidden-state levels (so that no op is there that {@link LstmStep} would not compute).
     */
    private static boolean expectedCounts(Set<SameDiffOp> region, int steps, boolean tanh) {
        int r = steps - 1;
        Map<String, Integer> expected = new TreeMap<>(Map.ofEntries(Map.entry("unstack", 1), Map.entry("stack", 1),
                Map.entry("strided_slice", 4 * steps), Map.entry("matmul", r),
                Map.entry("sigmoid", (tanh ? 3 : 5) * steps), Map.entry("add", 2 * r),
                Map.entry("multiply", 2 * steps + 2 * r),
                Map.entry("abs", r), Map.entry("reduce_max", r), Map.entry("maximum", r), Map.entry("divide", 2 * r),
                Map.entry("rint", r), Map.entry("ClipByValue", r)));
        Map<String, Integer> found = new TreeMap<>();
        if (tanh) {
            expected.put("tanh", 2 * steps);
        }
        region.forEach(op -> found.merge(op.getOp().opName(), 1, Integer::sum));
        return expected.equals(found);
    }

    private static boolean type(PlanGraph g, String variable, String opName) {
        SameDiffOp p = g.producer(variable);
        return p != null && p.getOp().opName().equals(opName);
    }

    /** The stack's axis (its integer argument, else its property), or -1 when it has neither. */
    private static int timeAxis(SameDiffOp stack) {
        long[] args = stack.getOp() instanceof org.nd4j.linalg.api.ops.DynamicCustomOp d ? d.iArgs() : null;
        if (args != null && args.length > 0) {
            return (int) args[0];
        }
        Object axis = stack.getOp().propertiesForFunction().get("jaxis");
        return axis instanceof Number n ? n.intValue() : -1;
    }

    /** [H, 4 H] levels as [4 H, H] bytes (O x F: one row per gate column). */
    static byte[] transposed(INDArray levels) {
        int rows = (int) levels.size(0);
        int cols = (int) levels.size(1);
        float[] v = levels.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat();
        byte[] out = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = (byte) v[r * cols + c];
            }
        }
        return out;
    }
}
