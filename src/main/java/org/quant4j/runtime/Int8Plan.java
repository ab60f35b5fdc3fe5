package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Supplier;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.reduce.same.Max;
import org.nd4j.linalg.api.ops.impl.scalar.LeakyReLU;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.shape.Concat;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.ConvolutionArgs;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.QuantGrid;

/**
 * The steps that run a fake-quant graph for one set of input shapes (see {@link Int8Network} for what each op
 * becomes). Built once: ops are visited in topological order; each becomes a step reading and writing
 * {@link Value}s, with conversions between the ways values are held inserted where a reader needs another one.
 * Constants and what is computed from constants alone (the dequantized weights) are no steps: kernels read the
 * integer weights directly, islands compute them inside SameDiff.
 *
 * <p>Running: every call has its own array of slots (buffers), filled step by step; a buffer is freed after the last
 * step reading it.
 */
final class Int8Plan implements AutoCloseable {

    /** One step: reads slots, writes slots. */
    private abstract static class Step implements AutoCloseable {
        final String label;
        final int[] reads;

        Step(String label, int... reads) {
            this.label = label;
            this.reads = reads;
        }

        abstract void run(Object[] slots);

        /**
         * Runs the step; {@code mayConsume}: no later step nor the result reads the buffer of {@link #consumable},
         * so the step may take it over (write into it) instead of copying it.
         */
        void run(Object[] slots, boolean mayConsume) {
            run(slots);
        }

        /** The slot whose buffer this step would take over when allowed, or -1. */
        int consumable() {
            return -1;
        }

        @Override
        public void close() {
        }
    }

    private final ModelGraph graph;
    private final SameDiff sd;
    private final Map<String, TensorQuantization> activations;
    private final Map<String, TensorQuantization> weights;
    private final Supplier<SameDiff> islands;
    /** The graph islands run in, fetched when the first island is planned. */
    private SameDiff islandGraph;
    private final Map<String, long[]> shapes;
    private final Set<String> absorbed = new HashSet<>();
    private final Map<String, Value> values = new LinkedHashMap<>();
    private final Map<String, Value> converted = new HashMap<>();
    private final Map<String, String> points = new LinkedHashMap<>();
    private final List<Step> steps = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private int slots;
    private int[][] freeAfter;
    /** For each step, whether it may take over the buffer of its {@link Step#consumable} slot. */
    private boolean[] consumes;
    private int kernels;
    private int fusedAdds;
    private long macs;
    private int primitives;
    private final Map<String, Integer> islandOps = new LinkedHashMap<>();

    Int8Plan(ModelGraph graph, Map<String, TensorQuantization> activations, Map<String, TensorQuantization> weights,
            Supplier<SameDiff> islands, long[][] inputShapes) {
        this.graph = graph;
        this.sd = graph.graph();
        this.activations = activations;
        this.weights = weights;
        this.islands = islands;
        try {
            this.shapes = shapes(inputShapes);
            for (int i = 0; i < graph.inputs().size(); i++) {
                String name = graph.inputs().get(i).name();
                values.put(name, new Value(name, Value.Kind.ND4J, ElementType.F32, inputShapes[i], null, null, slots++));
            }
            for (SameDiffOp op : topologicalOrder()) {
                if (!absorbed.contains(op.getName())) {
                    add(op);
                }
            }
            if (kernels == 0) {
                throw new Int8Network.UnsupportedInt8Exception("no quantized op of the network runs as an integer"
                        + " kernel (islands: " + islandOps + ")");
            }
            for (String out : graph.outputs()) {
                outputs.add(require(out, Value.Kind.ND4J));
            }
            lastUses();
        } catch (Int8Network.UnsupportedInt8Exception e) {
            close();
            throw e;
        } catch (RuntimeException e) {
            // a kernel oneDNN cannot make, a layout not foreseen: the model still runs, as its fake-quant graph
            close();
            Int8Network.UnsupportedInt8Exception u = new Int8Network.UnsupportedInt8Exception(
                    "the int8 plan could not be built: " + e);
            u.initCause(e);
            throw u;
        }
    }

    /** Multiply-accumulates of the int8 kernels per call. */
    long int8Macs() {
        return macs;
    }

    /** "12 int8 kernels, 5 f32 primitives, 1 fp32 island op (softmax)". */
    String summary() {
        int islandCount = islandOps.values().stream().mapToInt(Integer::intValue).sum();
        return kernels + " int8 kernels" + (fusedAdds == 0 ? "" : " (" + fusedAdds + " adding a residual)") + ", "
                + primitives + " f32 primitives, " + islandCount + " fp32 island ops"
                + (islandOps.isEmpty() ? "" : " " + islandOps);
    }

    // ---------------------------------------------------------------- running

    INDArray[] run(INDArray[] inputs) {
        Object[] slots = new Object[this.slots];
        try {
            execute(slots, inputs, true);
            INDArray[] result = new INDArray[outputs.size()];
            for (int i = 0; i < result.length; i++) {
                result[i] = (INDArray) slots[outputs.get(i).slot()];
            }
            return result;
        } finally {
            release(slots);
        }
    }

    Map<String, INDArray> trace(INDArray[] inputs) {
        Object[] slots = new Object[this.slots];
        try {
            execute(slots, inputs, false);
            Map<String, INDArray> result = new LinkedHashMap<>();
            for (Value v : values.values()) {
                if (slots[v.slot()] != null) {
                    result.put(v.name(), Layouts.toArray(v, slots[v.slot()]).castTo(DataType.FLOAT));
                }
            }
            points.forEach((fq, q) -> {
                Value v = values.get(fq);
                if (v.kind() == Value.Kind.LEVELS && slots[v.slot()] != null) {
                    result.put(q, Layouts.levels(v, slots[v.slot()]));
                }
            });
            return result;
        } finally {
            release(slots);
        }
    }

    /** Each step's mean time over {@code runs} calls after one untimed call (see {@link Int8Network#profile}). */
    List<Int8Network.StepTime> profile(INDArray[] inputs, int runs) {
        long[] nanos = new long[steps.size()];
        for (int r = 0; r <= runs; r++) {
            Object[] slots = new Object[this.slots];
            try {
                execute(slots, inputs, true, r == 0 ? null : nanos);
            } finally {
                release(slots);
            }
        }
        List<Int8Network.StepTime> times = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            String label = steps.get(i).label;
            times.add(new Int8Network.StepTime(label, label.split(" ", 2)[0], nanos[i] / 1e6 / runs));
        }
        return times;
    }

    private void execute(Object[] slots, INDArray[] inputs, boolean free) {
        execute(slots, inputs, free, null);
    }

    /** Runs the steps; {@code nanos}, when given, accumulates each step's wall-clock time. */
    private void execute(Object[] slots, INDArray[] inputs, boolean free, long[] nanos) {
        for (int i = 0; i < inputs.length; i++) {
            slots[values.get(graph.inputs().get(i).name()).slot()] = inputs[i];
        }
        for (int i = 0; i < steps.size(); i++) {
            long start = nanos == null ? 0 : System.nanoTime();
            steps.get(i).run(slots, free && consumes[i]);
            if (nanos != null) {
                nanos[i] += System.nanoTime() - start;
            }
            if (free) {
                for (int s : freeAfter[i]) {
                    if (slots[s] instanceof Pointer p) {
                        p.close();
                    }
                    slots[s] = null;
                }
            }
        }
    }

    private static void release(Object[] slots) {
        for (Object o : slots) {
            if (o instanceof Pointer p) {
                p.close();
            }
        }
    }

    /** For each step, the buffers no later step (nor the result) reads. */
    private void lastUses() {
        int[] last = new int[slots];
        Arrays.fill(last, -1);
        for (int i = 0; i < steps.size(); i++) {
            for (int s : steps.get(i).reads) {
                last[s] = i;
            }
        }
        for (Value out : outputs) {
            last[out.slot()] = Integer.MAX_VALUE;
        }
        List<List<Integer>> free = new ArrayList<>();
        steps.forEach(s -> free.add(new ArrayList<>()));
        for (int s = 0; s < slots; s++) {
            if (last[s] >= 0 && last[s] < steps.size()) {
                free.get(last[s]).add(s);
            }
        }
        freeAfter = free.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        consumes = new boolean[steps.size()];
        for (int i = 0; i < steps.size(); i++) {
            int c = steps.get(i).consumable();
            consumes[i] = c >= 0 && last[c] == i;
        }
    }

    // ---------------------------------------------------------------- building

    private void add(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        if (weightOf(op) != null && kernel(op)) {
            return;
        }
        if (f instanceof DivOp && quantize(op)) {
            return;
        }
        if ((f instanceof Identity || f instanceof Reshape) && alias(op)) {
            return;
        }
        if ((f instanceof MaxPooling2D || f instanceof Mean || f instanceof Max) && pool(op)) {
            return;
        }
        if ((f instanceof RectifiedLinear || f instanceof LeakyReLU || f instanceof Sigmoid || f instanceof AddOp)
                && elementwise(op)) {
            return;
        }
        if (f instanceof Concat && concatenation(op)) {
            return;
        }
        island(op);
    }

    private Value newValue(String name, Value.Kind kind, ElementType type, long[] shape, float[] scales) {
        Value v = new Value(name, kind, type, shape, scales, null, slots++);
        values.put(name, v);
        return v;
    }

    /** {@code name} held as {@code kind} (an f32 buffer or an array), converting once where needed; null if absent. */
    private Value require(String name, Value.Kind kind) {
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
            Value target = c;
            if (kind == Value.Kind.F32 && v.kind() == Value.Kind.LEVELS && v.flattenedFrom() == null) {
                levelConversion("dequantize " + v, LevelConversion.dequantize(v.elements(), v.scales(), v.type()),
                        v, target);
                converted.put(key, c);
                return c;
            }
            if (kind == Value.Kind.F32 && v.kind() == Value.Kind.ND4J && shape.length == 4) {
                NhwcReorder reorder = new NhwcReorder(shape);
                steps.add(new Step("convert " + v + " to " + kind, v.slot()) {
                    @Override
                    void run(Object[] s) {
                        s[target.slot()] = reorder.toNhwc((INDArray) s[v.slot()]);
                    }

                    @Override
                    public void close() {
                        reorder.close();
                    }
                });
                converted.put(key, c);
                return c;
            }
            steps.add(new Step("convert " + v + " to " + kind, v.slot()) {
                @Override
                void run(Object[] s) {
                    s[target.slot()] = kind == Value.Kind.F32 ? Layouts.toF32(v, s[v.slot()])
                            : Layouts.toArray(v, s[v.slot()]);
                }
            });
            converted.put(key, c);
        }
        return c;
    }

    private static ElementType levelType(TensorQuantization t) {
        QuantGrid grid = t.grid();
        if (grid.bits() > 8) {
            throw new Int8Network.UnsupportedInt8Exception("'" + t.tensor() + "' has " + grid.bits()
                    + "-bit levels, which do not fit 8-bit kernels");
        }
        return grid.signed() ? ElementType.S8 : ElementType.U8;
    }

    /** Whether integer levels of {@code t} can be held: per tensor, or per channel along axis 1 of rank 2 or 4. */
    private boolean levelsSupported(TensorQuantization t, long[] shape) {
        return shape != null && (shape.length == 4 || shape.length == 2) && (t.perTensor() || t.axis() == 1);
    }

    // ---- quantization points

    /** The four ops quantizing point {@code t} ({@code :scaled} div, rint, {@code :q} clip, {@code :fq} mul), or null. */
    private List<SameDiffOp> quantChain(String t) {
        if (!activations.containsKey(t)) {
            return null;
        }
        SameDiffOp div = producer(t + ":scaled");
        if (div == null || !(div.getOp() instanceof DivOp) || !div.getInputsToOp().equals(List.of(t, t + ":scale"))) {
            return null;
        }
        SameDiffOp rint = onlyReader(t + ":scaled");
        if (rint == null || !(rint.getOp() instanceof Rint)) {
            return null;
        }
        SameDiffOp clip = onlyReader(rint.getOutputsOfOp().get(0));
        if (clip == null || !(clip.getOp() instanceof ClipByValue) || !clip.getOutputsOfOp().get(0).equals(t + ":q")) {
            return null;
        }
        SameDiffOp mul = onlyReader(t + ":q");
        if (mul == null || !(mul.getOp() instanceof MulOp) || !mul.getOutputsOfOp().get(0).equals(t + ":fq")
                || !mul.getInputsToOp().equals(List.of(t + ":q", t + ":scale"))) {
            return null;
        }
        return List.of(div, rint, clip, mul);
    }

    /** The div op of a quantization point: the point's whole chain becomes one quantize step. */
    private boolean quantize(SameDiffOp div) {
        String scaled = div.getOutputsOfOp().get(0);
        if (!scaled.endsWith(":scaled")) {
            return false;
        }
        String t = scaled.substring(0, scaled.length() - ":scaled".length());
        List<SameDiffOp> chain = quantChain(t);
        TensorQuantization q = activations.get(t);
        if (chain == null || !levelsSupported(q, shapes.get(t))) {
            return false;
        }
        ElementType type = levelType(q);
        Value x = require(t, Value.Kind.F32);
        if (x == null) {
            return false;
        }
        chain.forEach(op -> absorbed.add(op.getName()));
        Value levels = newValue(t + ":fq", Value.Kind.LEVELS, type, x.shape(), q.scales());
        points.put(t + ":fq", t + ":q");
        levelConversion("quantize " + t, LevelConversion.quantize(x.elements(), q.scales(), q.grid()), x, levels);
        return true;
    }

    /** A step converting {@code src} into a new buffer for {@code dst} (levels from f32 values, or back). */
    private void levelConversion(String label, LevelConversion conversion, Value src, Value dst) {
        steps.add(new Step(label, src.slot()) {
            @Override
            void run(Object[] s) {
                BytePointer buffer = new BytePointer(dst.bytes());
                s[dst.slot()] = buffer;
                conversion.execute((Pointer) s[src.slot()], buffer);
            }

            @Override
            public void close() {
                conversion.close();
            }
        });
        primitives++;
    }

    // ---- integer kernels

    /** The quantization of the weights a conv/dense op reads ({@code <W>:dqi} or {@code <W>:dq}), or null. */
    private TensorQuantization weightOf(SameDiffOp op) {
        List<String> in = op.getInputsToOp();
        if (in == null || in.size() < 2) {
            return null;
        }
        String dq = in.get(1);
        int colon = dq.lastIndexOf(':');
        if (colon < 0) {
            return null;
        }
        TensorQuantization w = weights.get(dq.substring(0, colon));
        return w != null && sd.hasVariable(w.tensor() + ":q") ? w : null;
    }

    /**
     * Where a kernel's result goes.
     *
     * @param tensor   the tensor the kernel's result is
     * @param point    the quantization point whose levels it writes, or null (f32)
     * @param relu     whether a ReLU is fused
     * @param through  the ops absorbed into the kernel
     * @param residual the other term of a residual add fused into the kernel (oneDNN's sum post-op), or null
     */
    private record Route(String tensor, TensorQuantization point, boolean relu, List<SameDiffOp> through,
            String residual) {
        Route(String tensor, TensorQuantization point, boolean relu, List<SameDiffOp> through) {
            this(tensor, point, relu, through, null);
        }
    }

    /**
     * Through identities and at most one ReLU, each tensor read by that op alone, to a quantization point read
     * only by its quantize ops: the kernel writes the point's levels. Otherwise, for a convolution whose result
     * only an add of two tensors of one shape reads, and whose other term is already computed, the sum in f32 (the
     * add fused as oneDNN's sum post-op, and a plain ReLU reading the sum alone fused after it): a residual block's
     * last convolution. Otherwise the op's own result in f32 (with a ReLU fused when the result's only reader is a
     * plain ReLU).
     */
    private Route route(SameDiffOp op, boolean mayAdd) {
        String tensor = op.getOutputsOfOp().get(0);
        boolean relu = false;
        List<SameDiffOp> through = new ArrayList<>();
        while (!graph.outputs().contains(tensor)) {
            if (activations.containsKey(tensor) && quantChain(tensor) != null
                    && readers(tensor).size() == 1 && levelsSupported(activations.get(tensor), shapes.get(tensor))) {
                through.addAll(quantChain(tensor));
                return new Route(tensor, activations.get(tensor), relu, through);
            }
            SameDiffOp next = onlyReader(tensor);
            if (next == null) {
                break;
            }
            boolean isRelu = reluSlope(next) == 0f;
            if (!(next.getOp() instanceof Identity) && !(isRelu && !relu)) {
                break;
            }
            relu |= isRelu;
            through.add(next);
            tensor = next.getOutputsOfOp().get(0);
        }
        String out = op.getOutputsOfOp().get(0);
        SameDiffOp reader = onlyReader(out);
        Route residual = mayAdd ? residualRoute(out, reader) : null;
        if (residual != null) {
            return residual;
        }
        if (!graph.outputs().contains(out) && reader != null && reluSlope(reader) == 0f) {
            return new Route(reader.getOutputsOfOp().get(0), null, true, List.of(reader));
        }
        return new Route(out, null, false, List.of());
    }

    /**
     * {@code out}, through identities each read by the next op alone, + an already computed tensor of its shape,
     * through a plain ReLU reading the sum alone; or null.
     */
    private Route residualRoute(String result, SameDiffOp reader) {
        String out = result;
        SameDiffOp add = reader;
        List<SameDiffOp> through = new ArrayList<>();
        while (add != null && add.getOp() instanceof Identity && !graph.outputs().contains(out)) {
            through.add(add);
            out = add.getOutputsOfOp().get(0);
            add = onlyReader(out);
        }
        if (graph.outputs().contains(out) || add == null || !(add.getOp() instanceof AddOp)
                || add.getInputsToOp().size() != 2 || add.getOutputsOfOp().size() != 1) {
            return null;
        }
        through.add(add);
        List<String> terms = add.getInputsToOp();
        String other = terms.get(0).equals(out) ? terms.get(1) : terms.get(0);
        String sum = add.getOutputsOfOp().get(0);
        Value term = values.get(other);
        for (SameDiffOp p = producer(other); term == null && p != null && p.getOp() instanceof Identity;
                p = producer(p.getInputsToOp().get(0))) {
            other = p.getInputsToOp().get(0);
            term = values.get(other);
        }
        long[] shape = shapes.get(out);
        if (other.equals(out) || term == null || shape == null || !Arrays.equals(term.shape(), shape)
                || !Arrays.equals(shapes.get(sum), shape) || term.flattenedFrom() != null) {
            return null;
        }
        SameDiffOp next = onlyReader(sum);
        if (!graph.outputs().contains(sum) && next != null && reluSlope(next) == 0f) {
            through.add(next);
            return new Route(next.getOutputsOfOp().get(0), null, true, through, other);
        }
        return new Route(sum, null, false, through, other);
    }

    /** A quantized convolution, depthwise convolution or dense layer reading levels: an int8 kernel. */
    private boolean kernel(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        TensorQuantization w = weightOf(op);
        Value x = values.get(op.getInputsToOp().get(0));
        if (x == null || x.kind() != Value.Kind.LEVELS) {
            return false;
        }
        if (x.type() == ElementType.S8 && !Dnnl.exactSignedSources()) {
            return false; // oneDNN would halve the weights (no VNNI): an fp32 island keeps the graph's result
        }
        boolean conv = f instanceof Conv2D c && !ConvolutionArgs.nhwc(c);
        boolean depthwise = f instanceof DepthwiseConv2D d && !d.getConfig().isNHWC() && x.rank() == 4;
        boolean dense = f instanceof XwPlusB || (f instanceof Mmul && op.getInputsToOp().size() == 2 && plainMmul(op));
        if (!(conv && x.rank() == 4 && x.flattenedFrom() == null) && !(depthwise && x.flattenedFrom() == null)
                && !(dense && x.rank() == 2)) {
            return false;
        }
        INDArray q = sd.getVariable(w.tensor() + ":q").getArr();
        if (w.grid().bits() > 8) {
            throw new Int8Network.UnsupportedInt8Exception("weights '" + w.tensor() + "' have " + w.grid().bits()
                    + "-bit levels, which do not fit 8-bit kernels");
        }
        if (!Dnnl.exactInt8Products() && q.amaxNumber().intValue() > 63) {
            throw new Int8Network.UnsupportedInt8Exception("weights '" + w.tensor() + "' use 8-bit levels but this"
                    + " CPU has no VNNI: its int8 kernels would saturate (quantize with 7-bit weights)");
        }
        long[] outShape = shapes.get(op.getOutputsOfOp().get(0));
        long outChannels = outShape[1];
        Route route = route(op, conv || depthwise);
        Value residual = route.residual() == null ? null : require(route.residual(), Value.Kind.F32);
        if (route.residual() != null && residual == null) {
            route = route(op, false);
        }
        ElementType dstType = route.point() == null ? ElementType.F32 : levelType(route.point());
        float[] bias = op.getInputsToOp().size() > 2 ? floats(sd.getVariable(op.getInputsToOp().get(2)).getArr())
                : null;
        long perScale = depthwise ? outChannels / x.shape()[1] : 1;
        float[] outputScales = new float[(int) outChannels];
        float[] biasAcc = bias == null ? null : new float[(int) outChannels];
        for (int o = 0; o < outChannels; o++) {
            float sw = w.scales()[w.perTensor() ? 0 : (int) (o / perScale)];
            float sy = route.point() == null ? 1f : route.point().scales()[route.point().perTensor() ? 0 : o];
            outputScales[o] = sw / sy;
            if (biasAcc != null) {
                biasAcc[o] = bias[o] / sw;
            }
        }
        Step step;
        long dstBytes;
        AutoCloseable kernel;
        java.util.function.BiConsumer<Pointer, Pointer> execute;
        if (conv || depthwise) {
            long[] a = convolutionArgs(f);
            long[] pad = pads(x.shape()[2], x.shape()[3], outShape[2], outShape[3], a[0], a[1], a[2], a[3], a[6], a[7],
                    a[4], a[5], a[8] == 1);
            Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3],
                    outChannels, a[0], a[1], a[2], a[3], pad[0], pad[1], pad[2], pad[3], a[6], a[7],
                    depthwise ? x.shape()[1] : 1);
            if (g.outHeight() != outShape[2] || g.outWidth() != outShape[3]) {
                return false;
            }
            byte[] levels = depthwise ? depthwiseWeights(q, g) : convWeights(q, op, g);
            if (levels == null) {
                return false;
            }
            macs += g.batch() * g.out() * g.outHeight() * g.outWidth() * (g.in() / g.groups()) * g.kernelH()
                    * g.kernelW();
            Int8Conv2d k = new Int8Conv2d(g, x.type(), dstType, levels, biasAcc, outputScales, residual != null,
                    route.relu());
            kernel = k;
            dstBytes = k.dstBytes();
            execute = k::execute;
        } else {
            long features = x.shape()[1];
            byte[] levels = denseWeights(q, x, features, outChannels);
            macs += x.shape()[0] * features * outChannels;
            Int8Dense k = new Int8Dense(x.shape()[0], features, outChannels, x.type(), dstType, levels, biasAcc,
                    outputScales, route.relu());
            kernel = k;
            dstBytes = k.dstBytes();
            execute = k::execute;
        }
        route.through().forEach(r -> absorbed.add(r.getName()));
        Value out;
        if (route.point() != null) {
            out = newValue(route.tensor() + ":fq", Value.Kind.LEVELS, dstType, outShape, route.point().scales());
            points.put(route.tensor() + ":fq", route.tensor() + ":q");
        } else {
            out = newValue(route.tensor(), Value.Kind.F32, ElementType.F32, outShape, null);
        }
        Value target = out;
        int[] reads = residual == null ? new int[] {x.slot()} : new int[] {x.slot(), residual.slot()};
        String label = f.opName() + " " + op.getName() + (residual == null ? "" : " + " + residual) + " -> " + out;
        steps.add(new Step(label, reads) {
            @Override
            void run(Object[] s) {
                run(s, false);
            }

            /** With a residual: into its buffer when no one reads it later, else into a copy of it. */
            @Override
            void run(Object[] s, boolean mayConsume) {
                Pointer dst;
                if (residual == null) {
                    dst = new BytePointer(dstBytes);
                } else if (mayConsume) {
                    dst = (Pointer) s[residual.slot()];
                    s[residual.slot()] = null;
                } else {
                    dst = new BytePointer(dstBytes);
                    Pointer.memcpy(dst, (Pointer) s[residual.slot()], dstBytes);
                }
                s[target.slot()] = dst;
                execute.accept((Pointer) s[x.slot()], dst);
            }

            @Override
            int consumable() {
                return residual == null ? -1 : residual.slot();
            }

            @Override
            public void close() {
                try {
                    kernel.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        kernels++;
        fusedAdds += residual == null ? 0 : 1;
        return true;
    }

    private static boolean plainMmul(SameDiffOp op) {
        Map<String, Object> p = op.getOp().propertiesForFunction();
        return !Boolean.TRUE.equals(p.get("transposeA")) && !Boolean.TRUE.equals(p.get("transposeB"))
                && !Boolean.TRUE.equals(p.get("transposeResult"));
    }

    /** {kH, kW, sH, sW, pH, pW, dH, dW, same}, from the integer arguments (which a SameDiff copy keeps right). */
    private static long[] convolutionArgs(DifferentialFunction f) {
        long[] i = f instanceof org.nd4j.linalg.api.ops.DynamicCustomOp c ? c.iArgs() : null;
        if (i != null && i.length >= 9) {
            return Arrays.copyOf(i, 9);
        }
        var c = f instanceof Conv2D conv ? conv.getConfig() : ((DepthwiseConv2D) f).getConfig();
        return new long[] {c.getKH(), c.getKW(), c.getSH(), c.getSW(), c.getPH(), c.getPW(), c.getDH(), c.getDW(),
                c.getPaddingMode() == org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode.SAME ? 1 : 0};
    }

    /**
     * Convolution weights as OIHW. The layout from the shapes: a SameDiff copy or reload of the graph does not keep
     * the config's weights format (an OIYX convolution reported YXIO after dup()).
     */
    private static byte[] convWeights(INDArray q, SameDiffOp op, Int8Conv2d.Geometry g) {
        long[] ws = q.shape();
        long in = g.in();
        long k0 = g.kernelH();
        long k1 = g.kernelW();
        INDArray layout;
        if (ws[0] == g.out() && ws[1] == in && ws[2] == k0 && ws[3] == k1) {
            layout = q; // OIYX
        } else if (ws[0] == k0 && ws[1] == k1 && ws[2] == in && ws[3] == g.out()) {
            layout = q.permute(3, 2, 0, 1); // YXIO
        } else if (ws[0] == g.out() && ws[1] == k0 && ws[2] == k1 && ws[3] == in) {
            layout = q.permute(0, 3, 1, 2); // OYXI
        } else {
            return null;
        }
        return bytes(layout);
    }

    /** Depthwise weights [kH, kW, C, M] as oneDNN's goihw [C, M, 1, kH, kW]: output channel c M + m reads input c. */
    private static byte[] depthwiseWeights(INDArray q, Int8Conv2d.Geometry g) {
        long[] ws = q.shape();
        if (ws.length != 4 || ws[0] != g.kernelH() || ws[1] != g.kernelW() || ws[2] != g.in()
                || ws[2] * ws[3] != g.out()) {
            return null;
        }
        return bytes(q.permute(2, 3, 0, 1));
    }

    /** Dense weights [nIn, nOut] as [O, F], F in NHWC order (h, w, c) when the input is a flatten of NHWC levels. */
    private static byte[] denseWeights(INDArray q, Value x, long features, long outChannels) {
        INDArray oi = q.transpose().dup('c');
        if (oi.size(0) != outChannels || oi.size(1) != features) {
            throw new IllegalStateException("dense weights " + Arrays.toString(q.shape()) + " for " + features
                    + " inputs and " + outChannels + " outputs");
        }
        if (x.flattenedFrom() != null) {
            long[] f = x.flattenedFrom();
            oi = oi.reshape('c', outChannels, f[1], f[2], f[3]).permute(0, 2, 3, 1).reshape('c', outChannels, features);
        }
        return bytes(oi);
    }

    /** Through FLOAT: ND4J M2.1 casts INT8 to INT32 wrongly (seen here: [-52, -56, -40] became [-52, -8, -86]). */
    private static byte[] bytes(INDArray levels) {
        float[] v = levels.castTo(DataType.FLOAT).dup('c').data().asFloat();
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    private static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    // ---- values passed through

    /** Identity: the same value. Reshape: a flatten [N, C, H, W] -> [N, C H W] of levels, or a no-op. */
    private boolean alias(SameDiffOp op) {
        Value x = values.get(op.getInputsToOp().get(0));
        String out = op.getOutputsOfOp().get(0);
        if (x == null) {
            return false;
        }
        if (op.getOp() instanceof Identity) {
            values.put(out, new Value(out, x.kind(), x.type(), x.shape(), x.scales(), x.flattenedFrom(), x.slot()));
            return true;
        }
        long[] shape = shapes.get(out);
        if (shape == null || x.shape() == null) {
            return false;
        }
        if (Arrays.equals(shape, x.shape())) {
            values.put(out, new Value(out, x.kind(), x.type(), shape, x.scales(), x.flattenedFrom(), x.slot()));
            return true;
        }
        if (x.kind() == Value.Kind.LEVELS && x.rank() == 4 && shape.length == 2 && shape[0] == x.shape()[0]
                && shape[1] == x.shape()[1] * x.shape()[2] * x.shape()[3]) {
            values.put(out, new Value(out, x.kind(), x.type(), shape, x.scales(), x.shape(), x.slot()));
            return true;
        }
        return false;
    }

    // ---- f32 primitives and pooling

    /** Max pooling (levels or f32), global average or max pooling over H and W (f32; max also on levels). */
    private boolean pool(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        if (op.getInputsToOp().size() != 1) {
            return false;
        }
        Value x = values.get(op.getInputsToOp().get(0));
        String outName = op.getOutputsOfOp().get(0);
        long[] out = shapes.get(outName);
        if (x == null || x.shape() == null || x.rank() != 4 || out == null || x.flattenedFrom() != null) {
            return false;
        }
        long[] in = x.shape();
        long[] out4;
        long kH;
        long kW;
        long sH;
        long sW;
        long[] pad;
        Pool2d.Kind kind;
        if (f instanceof MaxPooling2D) {
            long[] a = ((MaxPooling2D) f).iArgs();
            if (a == null || a.length < 9 || a[6] != 1 || a[7] != 1 || (a.length > 10 && a[10] != 0)) {
                return false;
            }
            kH = a[0];
            kW = a[1];
            sH = a[2];
            sW = a[3];
            pad = pads(in[2], in[3], out[2], out[3], kH, kW, sH, sW, 1, 1, a[4], a[5], a[8] == 1);
            out4 = out;
            kind = Pool2d.Kind.MAX;
        } else {
            INDArray dims = ((BaseReduceOp) f).dimensions();
            if (dims == null || !Arrays.equals(dims.toLongVector(), new long[] {2, 3})) {
                return false;
            }
            kH = in[2];
            kW = in[3];
            sH = 1;
            sW = 1;
            pad = new long[4];
            out4 = new long[] {in[0], in[1], 1, 1};
            kind = f instanceof Mean ? Pool2d.Kind.AVG_EXCLUDE_PADDING : Pool2d.Kind.MAX;
            if (!(Arrays.equals(out, out4) || Arrays.equals(out, new long[] {in[0], in[1]}))) {
                return false;
            }
        }
        Value src = kind == Pool2d.Kind.MAX && x.kind() == Value.Kind.LEVELS ? x : require(x.name(), Value.Kind.F32);
        Pool2d pool = new Pool2d(kind, src.type(), in, out4, kH, kW, sH, sW, pad);
        Value dst = src.kind() == Value.Kind.LEVELS
                ? newValue(outName, Value.Kind.LEVELS, src.type(), out, src.scales())
                : newValue(outName, Value.Kind.F32, ElementType.F32, out, null);
        steps.add(new Step(f.opName() + " " + op.getName() + " -> " + dst, src.slot()) {
            @Override
            void run(Object[] s) {
                BytePointer p = new BytePointer(pool.dstBytes());
                s[dst.slot()] = p;
                pool.execute((Pointer) s[src.slot()], p);
            }

            @Override
            public void close() {
                pool.close();
            }
        });
        primitives++;
        return true;
    }

    /** The negative slope of a ReLU-like op (0 for ReLU), or NaN when the op is none or has another threshold. */
    private static float reluSlope(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        if (!(f instanceof RectifiedLinear) && !(f instanceof LeakyReLU)) {
            return Float.NaN;
        }
        INDArray scalar = ((BaseScalarOp) f).scalar();
        double value = scalar == null ? 0 : scalar.getDouble(0);
        if (f instanceof RectifiedLinear) {
            return value == 0 ? 0f : Float.NaN;
        }
        return (float) value;
    }

    /**
     * ReLU, leaky ReLU, sigmoid and the sum of two tensors of one shape: f32 oneDNN primitives. (Not tanh: oneDNN's
     * differs from SameDiff's by up to 251 units in the last place, sigmoid by 4; see Int8SigmoidAndConcatTest.)
     */
    private boolean elementwise(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        List<String> in = op.getInputsToOp();
        String outName = op.getOutputsOfOp().get(0);
        long[] out = shapes.get(outName);
        if (out == null) {
            return false;
        }
        Elementwise primitive;
        Value a;
        Value b = null;
        if (f instanceof AddOp) {
            if (in.size() != 2 || values.get(in.get(0)) == null || values.get(in.get(1)) == null
                    || !Arrays.equals(values.get(in.get(0)).shape(), out)
                    || !Arrays.equals(values.get(in.get(1)).shape(), out)) {
                return false;
            }
            a = require(in.get(0), Value.Kind.F32);
            b = require(in.get(1), Value.Kind.F32);
            primitive = Elementwise.add(a.elements());
        } else {
            boolean logistic = f instanceof Sigmoid;
            float slope = logistic ? 0f : reluSlope(op);
            if (Float.isNaN(slope) || in.size() != 1 || values.get(in.get(0)) == null
                    || !Arrays.equals(values.get(in.get(0)).shape(), out)) {
                return false;
            }
            a = require(in.get(0), Value.Kind.F32);
            primitive = logistic ? Elementwise.logistic(a.elements()) : Elementwise.relu(a.elements(), slope);
        }
        Value first = a;
        Value second = b;
        Value dst = newValue(outName, Value.Kind.F32, ElementType.F32, out, null);
        int[] reads = b == null ? new int[] {a.slot()} : new int[] {a.slot(), b.slot()};
        steps.add(new Step(f.opName() + " " + op.getName() + " -> " + dst, reads) {
            @Override
            void run(Object[] s) {
                BytePointer p = new BytePointer(dst.bytes());
                s[dst.slot()] = p;
                primitive.execute((Pointer) s[first.slot()], second == null ? null : (Pointer) s[second.slot()], p);
            }

            @Override
            public void close() {
                primitive.close();
            }
        });
        primitives++;
        return true;
    }

    /** A concatenation of tensors of rank 1 to 4 along one axis: the f32 oneDNN concat primitive (exact). */
    private boolean concatenation(SameDiffOp op) {
        List<String> in = op.getInputsToOp();
        String outName = op.getOutputsOfOp().get(0);
        long[] out = shapes.get(outName);
        long[] a = ((Concat) op.getOp()).iArgs();
        if (out == null || out.length > 4 || in.isEmpty() || a == null || a.length != 1) {
            return false;
        }
        int axis = (int) (a[0] < 0 ? a[0] + out.length : a[0]);
        long[][] inShapes = new long[in.size()][];
        long along = 0;
        for (int i = 0; i < in.size(); i++) {
            Value v = values.get(in.get(i));
            if (v == null || v.shape() == null || v.rank() != out.length || axis < 0 || axis >= out.length) {
                return false;
            }
            for (int d = 0; d < out.length; d++) {
                if (d != axis && v.shape()[d] != out[d]) {
                    return false;
                }
            }
            inShapes[i] = v.shape();
            along += v.shape()[axis];
        }
        if (along != out[axis]) {
            return false;
        }
        Value[] sources = new Value[in.size()];
        for (int i = 0; i < sources.length; i++) {
            sources[i] = require(in.get(i), Value.Kind.F32);
        }
        Concatenation primitive = new Concatenation(inShapes, axis);
        Value dst = newValue(outName, Value.Kind.F32, ElementType.F32, out, null);
        steps.add(new Step("concat " + op.getName() + " -> " + dst,
                Arrays.stream(sources).mapToInt(Value::slot).toArray()) {
            @Override
            void run(Object[] s) {
                BytePointer p = new BytePointer(primitive.dstBytes());
                s[dst.slot()] = p;
                Pointer[] buffers = new Pointer[sources.length + 1];
                for (int i = 0; i < sources.length; i++) {
                    buffers[i] = (Pointer) s[sources[i].slot()];
                }
                buffers[sources.length] = p;
                primitive.execute(buffers);
            }

            @Override
            public void close() {
                primitive.close();
            }
        });
        primitives++;
        return true;
    }

    // ---- fp32 islands

    static String islandInput(String variable) {
        return variable + "#in";
    }

    /**
     * Islands run as the library op itself ({@code Nd4j.exec} of a custom op with the graph op's name and arguments,
     * the same native code SameDiff runs) instead of a SameDiff call, which costs about 2 ms however small the op:
     * the ops the zoo's plans keep as islands most, each checked against the fake-quant graph by the int8 tests
     * (softmax and zero padding in ResNet-50, BatchNorm after a ReLU and LRN in {@code Int8GraphTest}, average
     * pooling in {@code RandomNetworkPropertiesTest} and the zoo SimpleCNN).
     */
    private static final Set<String> DIRECT_ISLAND_OPS = Set.of("softmax", "pad", "batchnorm", "lrn", "avgpool2d");

    /**
     * An op with a custom-op kernel of its own, reading plan values and plain constants: one {@code Nd4j.exec} per
     * call with the graph op's arguments. False (nothing planned) otherwise.
     */
    private boolean directIsland(SameDiffOp op) {
        if (!(op.getOp() instanceof DynamicCustomOp custom) || !DIRECT_ISLAND_OPS.contains(custom.opName())
                || op.getOutputsOfOp().size() != 1) {
            return false;
        }
        List<String> in = op.getInputsToOp();
        for (String name : in) {
            if (!isConstant(sd, name) && (constantDerivedVariable(sd, name) || values.get(name) == null)) {
                return false;
            }
            if (isConstant(sd, name) && sd.getVariable(name).getArr() == null) {
                return false;
            }
        }
        Object[] args = new Object[in.size()];
        List<Integer> reads = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String name = in.get(i);
            if (isConstant(sd, name)) {
                args[i] = sd.getVariable(name).getArr();
            } else {
                Value v = require(name, Value.Kind.ND4J);
                args[i] = v;
                reads.add(v.slot());
            }
        }
        String opName = custom.opName();
        long[] iArgs = custom.iArgs();
        double[] tArgs = custom.tArgs();
        boolean[] bArgs = custom.bArgs();
        DataType[] dArgs = custom.dArgs();
        String name = op.getOutputsOfOp().get(0);
        Value out = new Value(name, Value.Kind.ND4J, ElementType.F32, shapes.get(name), null, null, slots++);
        values.put(name, out);
        islandOps.merge(opName, 1, Integer::sum);
        steps.add(new Step("island " + opName + " " + op.getName(), reads.stream().mapToInt(Integer::intValue)
                .toArray()) {
            @Override
            void run(Object[] s) {
                DynamicCustomOp call = DynamicCustomOp.builder(opName).build();
                for (Object a : args) {
                    call.addInputArgument(a instanceof Value v ? (INDArray) s[v.slot()] : (INDArray) a);
                }
                call.addIArgument(iArgs);
                call.addTArgument(tArgs);
                call.addBArgument(bArgs);
                if (dArgs != null && dArgs.length > 0) {
                    call.addDArgument(dArgs);
                }
                s[out.slot()] = Nd4j.exec(call)[0];
            }
        });
        return true;
    }

    /**
     * Any other op, on arrays in the graph's layout: as the library op itself where {@link #directIsland} can, else
     * on its own through SameDiff (the islands graph).
     */
    private void island(SameDiffOp op) {
        if (directIsland(op)) {
            return;
        }
        Map<String, Value> feed = new LinkedHashMap<>();
        for (String in : op.getInputsToOp()) {
            if (isConstant(sd, in) || constantDerivedVariable(sd, in)) {
                continue;
            }
            Value v = require(in, Value.Kind.ND4J);
            if (v == null) {
                throw new IllegalStateException("op '" + op.getName() + "' reads '" + in + "', which the plan lacks");
            }
            feed.put(islandInput(in), v);
        }
        List<String> names = op.getOutputsOfOp();
        List<Value> outs = new ArrayList<>();
        for (String name : names) {
            Value v = new Value(name, Value.Kind.ND4J, ElementType.F32, shapes.get(name), null, null, slots++);
            values.put(name, v);
            outs.add(v);
        }
        String type = op.getOp().opName();
        islandOps.merge(type, 1, Integer::sum);
        if (islandGraph == null) {
            islandGraph = islands.get();
        }
        SameDiff runIn = islandGraph;
        steps.add(new Step("island " + type + " " + op.getName() + " via SameDiff",
                feed.values().stream().mapToInt(Value::slot).toArray()) {
            @Override
            void run(Object[] s) {
                Map<String, INDArray> placeholders = new HashMap<>();
                feed.forEach((ph, v) -> placeholders.put(ph, (INDArray) s[v.slot()]));
                Map<String, INDArray> result = GraphExecution.output(runIn, placeholders, names);
                for (Value v : outs) {
                    s[v.slot()] = result.get(v.name());
                }
            }
        });
    }

    // ---------------------------------------------------------------- graph helpers

    static boolean isConstant(SameDiff sd, String name) {
        SDVariable v = sd.getVariable(name);
        return v != null && (v.getVariableType() == VariableType.CONSTANT
                || v.getVariableType() == VariableType.VARIABLE);
    }

    /** Whether an op's every input is a constant or computed from constants alone (dequantized weights). */
    static boolean constantDerived(SameDiff sd, SameDiffOp op) {
        List<String> in = op.getInputsToOp();
        if (in == null || in.isEmpty()) {
            return true;
        }
        for (String v : in) {
            if (!isConstant(sd, v) && !constantDerivedVariable(sd, v)) {
                return false;
            }
        }
        return true;
    }

    static boolean constantDerivedVariable(SameDiff sd, String name) {
        Variable v = sd.getVariables().get(name);
        if (v == null || v.getOutputOfOp() == null) {
            return false;
        }
        SDVariable var = sd.getVariable(name);
        if (var.getVariableType() == VariableType.PLACEHOLDER) {
            return false;
        }
        return constantDerived(sd, sd.getOps().get(v.getOutputOfOp()));
    }

    private SameDiffOp producer(String tensor) {
        Variable v = sd.getVariables().get(tensor);
        return v == null || v.getOutputOfOp() == null ? null : sd.getOps().get(v.getOutputOfOp());
    }

    private List<String> readers(String tensor) {
        Variable v = sd.getVariables().get(tensor);
        return v == null || v.getInputsForOp() == null ? List.of() : v.getInputsForOp();
    }

    /** The one op reading {@code tensor}, when exactly one does and it is not a graph output. */
    private SameDiffOp onlyReader(String tensor) {
        List<String> r = readers(tensor);
        if (r.size() != 1 || graph.outputs().contains(tensor)) {
            return null;
        }
        return sd.getOps().get(r.get(0));
    }

    /** The ops that depend on the inputs, in topological order (ties in the graph's op order). */
    private List<SameDiffOp> topologicalOrder() {
        List<SameDiffOp> ops = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        for (SameDiffOp op : sd.getOps().values()) {
            if (!constantDerived(sd, op)) {
                index.put(op.getName(), ops.size());
                ops.add(op);
            }
        }
        Map<String, Integer> pending = new HashMap<>();
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (SameDiffOp op : ops) {
            int n = 0;
            for (String in : op.getInputsToOp()) {
                SameDiffOp p = producer(in);
                if (p != null && index.containsKey(p.getName())) {
                    n++;
                }
            }
            pending.put(op.getName(), n);
            if (n == 0) {
                ready.add(index.get(op.getName()));
            }
        }
        List<SameDiffOp> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            SameDiffOp op = ops.get(ready.poll());
            order.add(op);
            for (String out : op.getOutputsOfOp()) {
                for (String reader : readers(out)) {
                    Integer i = index.get(reader);
                    if (i == null) {
                        continue;
                    }
                    int count = 0;
                    for (String in : sd.getOps().get(reader).getInputsToOp()) {
                        if (in.equals(out)) {
                            count++;
                        }
                    }
                    int left = pending.merge(reader, -count, Integer::sum);
                    if (left == 0) {
                        ready.add(i);
                    }
                }
            }
        }
        if (order.size() != ops.size()) {
            throw new Int8Network.UnsupportedInt8Exception("the graph has a cycle (control flow is not supported)");
        }
        return order;
    }

    /** Shapes of every floating-point tensor, from one run of the graph on zeros. */
    private Map<String, long[]> shapes(long[][] inputShapes) {
        List<String> names = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            for (String out : op.getOutputsOfOp()) {
                if (sd.getVariable(out).dataType().isFPType()) {
                    names.add(out);
                }
            }
        }
        Map<String, INDArray> feed = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        for (int i = 0; i < inputShapes.length; i++) {
            String name = graph.inputs().get(i).name();
            feed.put(name, Nd4j.zeros(DataType.FLOAT, inputShapes[i]));
            shapes.put(name, inputShapes[i]);
        }
        GraphExecution.output(sd, feed, names).forEach((k, v) -> shapes.put(k, v.shape()));
        return shapes;
    }

    /** Padding {top, left, bottom, right}: explicit, or SAME's (total = (out - 1) s + (k - 1) d + 1 - in, top half). */
    static long[] pads(long h, long w, long outH, long outW, long kH, long kW, long sH, long sW, long dH, long dW,
            long pH, long pW, boolean same) {
        if (same) {
            long totalH = Math.max((outH - 1) * sH + (kH - 1) * dH + 1 - h, 0);
            long totalW = Math.max((outW - 1) * sW + (kW - 1) * dW + 1 - w, 0);
            return new long[] {totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2};
        }
        long bottom = (outH - 1) * sH + (kH - 1) * dH + 1 - h - pH;
        long right = (outW - 1) * sW + (kW - 1) * dW + 1 - w - pW;
        return new long[] {pH, pW, Math.max(bottom, 0), Math.max(right, 0)};
    }

    @Override
    public void close() {
        steps.forEach(Step::close);
        steps.clear();
    }
}
