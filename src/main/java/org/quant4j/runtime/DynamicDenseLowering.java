package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.DynamicInputs;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;

/**
 * A tensor quantized per call ({@link DynamicInputs}: {@code abs}, {@code reduce_max} to {@code <x>:dyn_amax},
 * {@code maximum}, {@code divide} to {@code <x>:dyn_scale}, {@code divide}, {@code rint}, {@code clip} to
 * {@code <x>:dyn_levels}, {@code multiply} to {@code <x>:dyn_fq}) read only by dense products ({@code xw_plus_b},
 * {@code matmul} without transposes) of weight-only int8 weights: one {@link DynamicDenseStep} per product, the
 * levels and scale computed at run time and the product an int8 kernel. Taken at the {@code abs}; anything else
 * (another reader, a rank other than 2, weights above 8 bits) is left to the op-by-op lowerings. A hidden state's
 * levels inside an LSTM are the LSTM step's ({@link LstmLowering}, tried first).
 */
final class DynamicDenseLowering implements OpLowering {

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        List<String> in = op.getInputsToOp();
        return op.getOp().opName().equals("abs") && in != null && in.size() == 1
                && plan.sd().hasVariable(DynamicInputs.fakeQuant(in.get(0))) && Dnnl.exactSignedSources();
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        String x = op.getInputsToOp().get(0);
        PlanGraph g = plan.graph();
        List<SameDiffOp> chain = chain(g, op, x);
        long[] shape = plan.shape(x);
        if (chain == null || shape == null || shape.length != 2 || plan.value(x) == null) {
            return false;
        }
        List<SameDiffOp> products = new ArrayList<>();
        for (String r : g.readers(DynamicInputs.fakeQuant(x))) {
            SameDiffOp product = g.sd().getOps().get(r);
            if (!isProduct(plan, product) || weightOf(plan, product) == null
                    || g.isOutput(product.getOutputsOfOp().get(0))) {
                return false;
            }
            products.add(product);
        }
        if (products.isEmpty()) {
            return false;
        }
        Value xv = plan.require(x, Value.Kind.F32);
        if (xv == null) {
            return false;
        }
        int rows = (int) shape[0];
        int features = (int) shape[1];
        List<DynamicDenseStep> steps = new ArrayList<>();
        for (SameDiffOp product : products) {
            TensorQuantization w = weightOf(plan, product);
            INDArray levels = plan.sd().getVariable(PointNames.levels(w.tensor())).getArr();
            if (levels.size(0) != features) {
                steps.forEach(DynamicDenseStep::close);
                return false;
            }
            int outputs = (int) levels.size(1);
            List<String> in = product.getInputsToOp();
            float[] bias = in.size() == 3 ? plan.sd().getVariable(in.get(2)).getArr().castTo(DataType.FLOAT)
                    .dup('c').data().asFloat() : null;
            String name = product.getOutputsOfOp().get(0);
            steps.add(new DynamicDenseStep(product.getOp().opName() + " " + product.getName() + " (dynamic int8 "
                    + x + ") -> " + name, xv, plan.newValue(name, Value.Kind.F32, ElementType.F32,
                            new long[] {rows, outputs}, null), rows, features, outputs, LstmLowering.transposed(levels),
                    w.scales(), bias));
        }
        plan.absorb(chain);
        plan.absorb(products);
        for (DynamicDenseStep step : steps) {
            plan.addKernel(step, step.macs(), false);
        }
        return true;
    }

    /**
     * The ops {@link DynamicInputs} wrote for {@code x}, from its {@code abs} on, each read only within the chain
     * (the scale also by the final multiply), or null when the graph differs.
     */
    private static List<SameDiffOp> chain(PlanGraph g, SameDiffOp abs, String x) {
        SameDiffOp max = g.onlyReader(abs.getOutputsOfOp().get(0));
        SameDiffOp range = max == null ? null : g.onlyReader(output(max));
        SameDiffOp scale = range == null ? null : g.onlyReader(output(range));
        if (!named(max, "reduce_max", x + ":dyn_amax") || !named(range, "maximum", null)
                || !named(scale, "divide", x + ":dyn_scale")) {
            return null;
        }
        List<String> scaleReaders = g.readers(output(scale));
        SameDiffOp fq = g.producer(DynamicInputs.fakeQuant(x));
        SameDiffOp clip = g.producer(x + ":dyn_levels");
        SameDiffOp rint = clip == null ? null : g.producer(clip.getInputsToOp().get(0));
        SameDiffOp divide = rint == null ? null : g.producer(rint.getInputsToOp().get(0));
        if (!named(fq, "multiply", null) || !named(clip, "ClipByValue", null) || !named(rint, "rint", null)
                || !named(divide, "divide", null) || scaleReaders.size() != 2
                || !scaleReaders.containsAll(List.of(divide.getName(), fq.getName()))
                || !divide.getInputsToOp().equals(List.of(x, output(scale)))
                || g.readers(output(divide)).size() != 1 || g.readers(output(rint)).size() != 1
                || g.readers(output(clip)).size() != 1) {
            return null;
        }
        List<SameDiffOp> chain = List.of(abs, max, range, scale, divide, rint, clip, fq);
        for (SameDiffOp op : chain) {
            if (g.isOutput(output(op))) {
                return null;
            }
        }
        return chain;
    }

    private static String output(SameDiffOp op) {
        return op.getOutputsOfOp().get(0);
    }

    private static boolean named(SameDiffOp op, String type, String output) {
        return op != null && op.getOp().opName().equals(type) && op.getOutputsOfOp().size() == 1
                && (output == null || output(op).equals(output));
    }

    private static boolean isProduct(PlanBuilder plan, SameDiffOp op) {
        String type = op == null ? "" : op.getOp().opName();
        List<String> in = op == null ? List.of() : op.getInputsToOp();
        if (type.equals("xw_plus_b")) {
            return in.size() == 3 && PlanGraph.isConstant(plan.sd(), in.get(2))
                    && plan.sd().getVariable(in.get(2)).getArr() != null;
        }
        if (!type.equals("matmul") || in.size() != 2) {
            return false;
        }
        Map<String, Object> p = op.getOp().propertiesForFunction();
        return !Boolean.TRUE.equals(p.get("transposeA")) && !Boolean.TRUE.equals(p.get("transposeB"))
                && !Boolean.TRUE.equals(p.get("transposeResult"));
    }

    /** The weight-only int8 weight {@code product} reads as its second operand, or null. */
    private static TensorQuantization weightOf(PlanBuilder plan, SameDiffOp product) {
        String dq = product.getInputsToOp().get(1);
        String weight = PointNames.tensorOf(dq);
        TensorQuantization w = weight == null ? null : plan.weight(weight);
        if (w == null || w.input() != null || w.grid().bits() > 8 || !dq.equals(PointNames.dequantized(weight))
                || !plan.sd().hasVariable(PointNames.levels(weight))) {
            return null;
        }
        INDArray levels = plan.sd().getVariable(PointNames.levels(weight)).getArr();
        return levels != null && levels.rank() == 2 && (w.scales().length == 1 || w.scales().length == levels.size(1))
                ? w : null;
    }
}
