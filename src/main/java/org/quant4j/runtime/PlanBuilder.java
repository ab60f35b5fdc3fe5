package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;

/**
 * An int8 plan being built for one set of input shapes, and what the {@link OpLowering}s build it with: ops are
 * visited in topological order, each lowered by the first lowering of {@link Lowerings} that takes it, into steps
 * reading and writing {@link Value}s; a conversion between the ways values are held is inserted, once per value and
 * way, where a reader needs another one ({@link #require}). Constants and what is computed from constants alone
 * (the dequantized weights) are no steps: kernels read the integer weights directly, islands compute them inside
 * SameDiff. Not thread-safe: one builder per plan.
 */
final class PlanBuilder {

    private final ModelGraph model;
    private final PlanGraph graph;
    private final Map<String, TensorQuantization> activations;
    private final Map<String, TensorQuantization> weights;
    private final Supplier<SameDiff> islands;
    private final long[][] inputShapes;
    /** The graph islands run in, fetched when the first island is planned. */
    private SameDiff islandGraph;
    private Map<String, long[]> shapes;
    private final Set<String> absorbed = new HashSet<>();
    final Map<String, Value> values = new LinkedHashMap<>();
    private final Map<String, Value> converted = new HashMap<>();
    /** The levels values of quantization points: {@code <t>:fq} to {@code <t>:q}. */
    final Map<String, String> points = new LinkedHashMap<>();
    final List<PlanStep> steps = new ArrayList<>();
    final List<Value> outputs = new ArrayList<>();
    int slots;
    int kernels;
    int fusedAdds;
    long macs;
    int primitives;
    final Map<String, Integer> islandOps = new LinkedHashMap<>();

    PlanBuilder(ModelGraph model, Map<String, TensorQuantization> activations,
            Map<String, TensorQuantization> weights, Supplier<SameDiff> islands, long[][] inputShapes) {
        this.model = model;
        this.graph = new PlanGraph(model);
        this.activations = activations;
        this.weights = weights;
        this.islands = islands;
        this.inputShapes = inputShapes;
    }

    /** Plans every op; refused when no quantized op runs as an integer kernel. */
    void build() {
        shapes = graph.shapes(inputShapes);
        for (int i = 0; i < model.inputs().size(); i++) {
            String name = model.inputs().get(i).name();
            values.put(name, new Value(name, Value.Kind.ND4J, ElementType.F32, inputShapes[i], null, null, slots++));
        }
        for (SameDiffOp op : graph.topologicalOrder()) {
            if (!absorbed.contains(op.getName())) {
                lower(op);
            }
        }
        if (kernels == 0) {
            throw new Int8Network.UnsupportedInt8Exception("no quantized op of the network runs as an integer"
                    + " kernel (islands: " + islandOps + ")");
        }
        for (String out : model.outputs()) {
            outputs.add(require(out, Value.Kind.ND4J));
        }
    }

    private void lower(SameDiffOp op) {
        for (OpLowering lowering : Lowerings.ALL) {
            if (lowering.takes(op, this) && lowering.lower(op, this)) {
                return;
            }
        }
        throw new IllegalStateException("no lowering took op '" + op.getName() + "'");
    }

    // ---------------------------------------------------------------- the graph

    PlanGraph graph() {
        return graph;
    }

    SameDiff sd() {
        return graph.sd();
    }

    /** The quantization of activation {@code tensor} (its point), or null. */
    TensorQuantization activation(String tensor) {
        return activations.get(tensor);
    }

    /** The quantization of weight {@code tensor}, or null. */
    TensorQuantization weight(String tensor) {
        return weights.get(tensor);
    }

    /** The shape of a floating-point tensor for this plan's input shapes, or null. */
    long[] shape(String tensor) {
        return shapes.get(tensor);
    }

    /** The graph fp32 islands run in (see {@link Int8Network}), fetched once. */
    SameDiff islandGraph() {
        if (islandGraph == null) {
            islandGraph = islands.get();
        }
        return islandGraph;
    }

    // ---------------------------------------------------------------- values

    /** The value of tensor {@code name} as it is held, or null when the plan has none (yet). */
    Value value(String name) {
        return values.get(name);
    }

    /** A new value of tensor {@code name}, in a slot of its own. */
    Value newValue(String name, Value.Kind kind, ElementType type, long[] shape, float[] scales) {
        Value v = new Value(name, kind, type, shape, scales, null, slots++);
        values.put(name, v);
        return v;
    }

    /** A new value of tensor {@code name} holding levels with these scales and zero points, in a slot of its own. */
    Value newLevelsValue(String name, ElementType type, long[] shape, float[] scales, int[] zeroPoints) {
        Value v = new Value(name, Value.Kind.LEVELS, type, shape, scales, null, slots++, zeroPoints);
        values.put(name, v);
        return v;
    }

    /**
     * A new value holding the levels of point {@code tensor} ({@code zeroPoints} empty for none): {@code <tensor>:fq},
     * traced as {@code <tensor>:q}.
     */
    Value newLevels(String tensor, ElementType type, long[] shape, float[] scales, int[] zeroPoints) {
        Value levels = newLevelsValue(PointNames.fakeQuant(tensor), type, shape, scales, zeroPoints);
        points.put(PointNames.fakeQuant(tensor), PointNames.levels(tensor));
        return levels;
    }

    /** {@code v} (another tensor held in an existing value's slot: an identity, a flatten). */
    void alias(Value v) {
        values.put(v.name(), v);
    }

    /** Whether {@code name} is already held as {@code kind} by a conversion ({@link #require}). */
    boolean converted(String name, Value.Kind kind) {
        return converted.containsKey(name + "#" + kind);
    }

    /** {@code name} held as {@code kind} (an f32 buffer or an array), converting once where needed; null if absent. */
    Value require(String name, Value.Kind kind) {
        Value v = values.get(name);
        if (v == null || v.kind() == kind) {
            return v;
        }
        if (kind == Value.Kind.LEVELS) {
            return null;
        }
        String key = name + "#" + kind;
        Value c = converted.get(key);
        if (c == null) {
            long[] shape = v.shape();
            if (kind == Value.Kind.F32 && shape == null) {
                return null;
            }
            c = new Value(name, kind, ElementType.F32, shape, null, null, slots++);
            if (kind == Value.Kind.F32 && v.kind() == Value.Kind.LEVELS && v.flattenedFrom() == null) {
                addPrimitive(new LevelConversionStep("dequantize " + v,
                        LevelConversion.dequantize(v.elements(), v.scales(), v.zeroPoints(), v.type()), v, c));
            } else if (kind == Value.Kind.F32 && v.kind() == Value.Kind.ND4J && shape.length == 4) {
                steps.add(new ReorderStep(v, c));
            } else {
                steps.add(new ConvertStep(v, c));
            }
            converted.put(key, c);
        }
        return c;
    }

    // ---------------------------------------------------------------- steps

    /** Marks ops a step computes as part of its own (they are not visited). */
    void absorb(Collection<SameDiffOp> ops) {
        ops.forEach(op -> absorbed.add(op.getName()));
    }

    /** An int8 kernel step doing {@code macs} multiply-accumulates per call, adding a residual or not. */
    void addKernel(PlanStep step, long macs, boolean addsResidual) {
        steps.add(step);
        this.macs += macs;
        kernels++;
        fusedAdds += addsResidual ? 1 : 0;
    }

    /** An f32 oneDNN primitive step (also a quantize or dequantize step). */
    void addPrimitive(PlanStep step) {
        steps.add(step);
        primitives++;
    }

    /** An fp32 island step running op type {@code opName}. */
    void addIsland(PlanStep step, String opName) {
        islandOps.merge(opName, 1, Integer::sum);
        steps.add(step);
    }

    /** Closes the steps made so far (a plan that could not be built). */
    void close() {
        steps.forEach(PlanStep::close);
        steps.clear();
    }
}
