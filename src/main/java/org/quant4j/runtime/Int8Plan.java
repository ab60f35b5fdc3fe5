package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorQuantization;

/**
 * The steps that run a fake-quant graph for one set of input shapes (see {@link Int8Network} for what each op
 * becomes, {@link PlanBuilder} and {@link Lowerings} for how). Built once; immutable after.
 *
 * <p>Running: every call has its own array of slots (buffers and arrays), filled step by step. The native buffers
 * come from a {@link PlanBuffers} set the call takes from the plan's pool (one set per concurrent call, made when no
 * idle one is left, kept until the plan is closed); a buffer goes back to the set after the last step reading it, for
 * the next step needing as many bytes. A warm plan allocates no native memory.
 */
final class Int8Plan implements AutoCloseable {

    private final List<PlanStep> steps;
    private final Map<String, Value> values;
    /** The levels values of quantization points, {@code <t>:fq}, and the name they are traced as, {@code <t>:q}. */
    private final Map<String, String> points;
    private final List<Value> outputs;
    private final int[] inputSlots;
    private final int slots;
    private final int kernels;
    private final int fusedAdds;
    private final long macs;
    private final int primitives;
    private final Map<String, Integer> islandOps;
    /** The buffer sets of calls not under way. */
    private final java.util.Queue<PlanBuffers> idleBuffers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Every buffer set made, closed with the plan. */
    private final java.util.Queue<PlanBuffers> allBuffers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private int[][] freeAfter;
    /** For each step, whether it may take over the buffer of its {@link PlanStep#consumable} slot. */
    private boolean[] consumes;
    /**
     * For each slot, whether it holds an ND4J array the plan made ({@link PlanStep#madeArrays}), released as soon
     * as no later step reads it (and nothing else holds it): ND4J frees arrays only when the garbage collector finds them, and a call's arrays
     * would pile up between collections (hundreds of MB for large batches).
     */
    private boolean[] madeArray;

    Int8Plan(ModelGraph graph, Map<String, TensorQuantization> activations, Map<String, TensorQuantization> weights,
            Supplier<SameDiff> islands, long[][] inputShapes) {
        PlanBuilder plan = new PlanBuilder(graph, activations, weights, islands, inputShapes);
        try {
            org.quant4j.QuantizationPhases.timed(org.quant4j.QuantizationListener.Phase.PLAN_BUILD, plan::build);
        } catch (Int8Network.UnsupportedInt8Exception e) {
            plan.close();
            throw e;
        } catch (RuntimeException e) {
            // a kernel oneDNN cannot make, a layout not foreseen: the model still runs, as its fake-quant graph
            plan.close();
            Int8Network.UnsupportedInt8Exception u = new Int8Network.PlanFailedException(
                    "the int8 plan for input shapes " + Arrays.deepToString(inputShapes) + " could not be built: " + e,
                    true);
            u.initCause(e);
            throw u;
        }
        steps = plan.steps;
        values = plan.values;
        points = plan.points;
        outputs = plan.outputs;
        inputSlots = graph.inputs().stream().mapToInt(in -> values.get(in.name()).slot()).toArray();
        slots = plan.slots;
        kernels = plan.kernels;
        fusedAdds = plan.fusedAdds;
        macs = plan.macs;
        primitives = plan.primitives;
        islandOps = plan.islandOps;
        lastUses();
        madeArray = new boolean[slots];
        for (PlanStep step : steps) {
            for (int slot : step.madeArrays()) {
                madeArray[slot] = true;
            }
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

    INDArray[] run(INDArray[] inputs) {
        Object[] slots = new Object[this.slots];
        PlanBuffers buffers = takeBuffers();
        try {
            execute(slots, buffers, inputs, true, null);
            INDArray[] result = new INDArray[outputs.size()];
            for (int i = 0; i < result.length; i++) {
                result[i] = (INDArray) slots[outputs.get(i).slot()];
            }
            return result;
        } finally {
            release(slots, buffers);
            idleBuffers.add(buffers);
        }
    }

    private PlanBuffers takeBuffers() {
        PlanBuffers b = idleBuffers.poll();
        if (b == null) {
            b = new PlanBuffers();
            allBuffers.add(b);
        }
        return b;
    }

    /** The native bytes the plan's buffer sets hold (one set per call that ran concurrently with others). */
    long bufferBytes() {
        return allBuffers.stream().mapToLong(PlanBuffers::bytes).sum();
    }

    /** The number of buffer sets made so far: at most the number of calls ever under way at once. */
    int bufferSets() {
        return allBuffers.size();
    }

    Map<String, INDArray> trace(INDArray[] inputs) {
        Object[] slots = new Object[this.slots];
        // a set of its own: nothing is given back while tracing, and its buffers are freed after
        try (PlanBuffers buffers = new PlanBuffers()) {
            execute(slots, buffers, inputs, false, null);
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
        }
    }

    /** Each step's mean time over {@code runs} calls after one untimed call (see {@link Int8Network#profile}). */
    List<Int8Network.StepTime> profile(INDArray[] inputs, int runs) {
        long[] nanos = new long[steps.size()];
        for (int r = 0; r <= runs; r++) {
            Object[] slots = new Object[this.slots];
            PlanBuffers buffers = takeBuffers();
            try {
                execute(slots, buffers, inputs, true, r == 0 ? null : nanos);
            } finally {
                release(slots, buffers);
                idleBuffers.add(buffers);
            }
        }
        List<Int8Network.StepTime> times = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            String label = steps.get(i).label;
            times.add(new Int8Network.StepTime(label, label.split(" ", 2)[0], nanos[i] / 1e6 / runs));
        }
        return times;
    }

    /** Runs the steps; {@code nanos}, when given, accumulates each step's wall-clock time. */
    private void execute(Object[] slots, PlanBuffers buffers, INDArray[] inputs, boolean free, long[] nanos) {
        for (int i = 0; i < inputs.length; i++) {
            slots[inputSlots[i]] = inputs[i];
        }
        for (int i = 0; i < steps.size(); i++) {
            long start = nanos == null ? 0 : System.nanoTime();
            steps.get(i).run(slots, buffers, free && consumes[i]);
            if (nanos != null) {
                nanos[i] += System.nanoTime() - start;
            }
            if (free) {
                for (int s : freeAfter[i]) {
                    if (slots[s] instanceof Pointer p) {
                        buffers.give(p);
                    } else if (madeArray[s] && slots[s] instanceof INDArray a && a.closeable()
                            && !held(slots, s, a, inputs)) {
                        a.close();
                    }
                    slots[s] = null;
                }
            }
        }
    }

    /**
     * Whether another slot or one of the call's inputs holds {@code array} or an array over the same memory: an
     * island may return its input itself (an identity) or a view of it (a reshape), and the caller's arrays are the
     * caller's. Compared by address ranges, as views may wrap the same memory in buffers of their own.
     */
    private static boolean held(Object[] slots, int slot, INDArray array, INDArray[] inputs) {
        long[] range = range(array);
        for (int i = 0; i < slots.length; i++) {
            if (i != slot && slots[i] instanceof INDArray other && overlaps(range, other)) {
                return true;
            }
        }
        for (INDArray input : inputs) {
            if (overlaps(range, input)) {
                return true;
            }
        }
        return false;
    }

    private static long[] range(INDArray array) {
        DataBuffer data = array.data();
        // The platform address (the device's on a device backend): an identity, read without a sync.
        return new long[] {data.platformAddress(), data.platformAddress() + data.length() * data.getElementSize()};
    }

    private static boolean overlaps(long[] range, INDArray other) {
        if (other.isEmpty() || other.wasClosed()) {
            return false;
        }
        long[] r = range(other);
        return range[0] < r[1] && r[0] < range[1];
    }

    private static void release(Object[] slots, PlanBuffers buffers) {
        for (Object o : slots) {
            if (o instanceof Pointer p) {
                buffers.give(p);
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

    @Override
    public void close() {
        steps.forEach(PlanStep::close);
        steps.clear();
        allBuffers.forEach(PlanBuffers::close);
        allBuffers.clear();
        idleBuffers.clear();
    }
}
