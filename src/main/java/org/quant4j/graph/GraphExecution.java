package org.quant4j.graph;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.config.ExecutionResult;
import org.nd4j.autodiff.samediff.config.SDValue;
import org.nd4j.autodiff.samediff.internal.AbstractSession;
import org.nd4j.autodiff.samediff.internal.FrameIter;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.autodiff.samediff.internal.memory.AbstractMemoryMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationException;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.Op;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.shape.tensorops.BaseTensorOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.Assign;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs SameDiff graphs for quant4j, with native memory that is freed as soon as it is no longer needed.
 *
 * <p>What SameDiff M2.1 does by default, and why quant4j does not use it:
 * <ul>
 * <li>Its session memory manager ({@code ArrayCacheMemoryMgr}) reuses arrays that are still needed: the session's
 * array-use tracker keys each use of an array by a fresh {@code SDValue} (whose equality is a per-wrapper id), so an
 * array read by two ops is released when the first of them has run (seen here: a dense layer's output changed
 * between two runs on the same input).</li>
 * <li>With {@code NoOpMemoryMgr} every op allocates fresh native arrays that are freed only when the JVM happens to
 * collect their Java objects: ND4J's buffers are not counted by JavaCPP's {@code maxBytes}, so nothing forces a
 * collection, and 8 threads raised the process RSS by several GB.</li>
 * <li>{@code SameDiff.output} keeps one session per thread id forever, and each session's {@code freedArrays} set
 * grows by every released array's id on every call.</li>
 * </ul>
 *
 * <p>So every call here takes a session ({@link RunSession}) from a small pool kept per graph, with a memory manager
 * that records what it allocates. During the run an intermediate array is closed (its native buffer freed at once) when every op of the
 * run that reads it has run, counting per array object, so that ops returning their input (identity) are followed;
 * only arrays this run allocated are ever closed, never constants, variables or the caller's placeholders, and never
 * an array that is requested. Graphs with ops that may alias arrays in other ways (control flow, tensor arrays,
 * views) skip the in-run closing. After the run, every array the run allocated is closed except the returned ones
 * (and any whose buffer a returned array shares), and the session forgets the run before it goes back to the pool.
 */
public final class GraphExecution {

    private GraphExecution() {
    }

    /**
     * How many idle sessions a graph keeps for reuse (an op context per op each: SameDiff M2.1's CPU op contexts free
     * their native memory only when collected, {@code close()} does nothing, so a session per call would leave
     * garbage behind). More concurrent calls than this still run, each with a session of its own that is dropped.
     */
    static final int POOLED_SESSIONS = Math.max(8, 2 * Runtime.getRuntime().availableProcessors());

    /** The values of {@code variables} for the given placeholder values. */
    public static Map<String, INDArray> output(SameDiff sd, Map<String, INDArray> feed, List<String> variables) {
        RunSession session = take(sd);
        Map<String, INDArray> out = null;
        try {
            session.freeDuringRun = plainDataflow(sd);
            out = session.output(new ArrayList<>(variables), feed, null, Collections.emptyList(),
                    Collections.emptyList(), At.defaultAt(Operation.INFERENCE));
            return out;
        } finally {
            session.finish(out == null ? List.of() : out.values());
            give(sd, session);
        }
    }

    /**
     * Runs {@code sd} once and hands each of {@code variables} to {@code sink} as soon as it is computed; the array is
     * then freed like any intermediate, once the ops of the run that read it have run. So a run can observe every
     * layer's output while holding no more of them than the graph itself needs at once. A variable that is fed is
     * handed over first. The sink must not keep the arrays.
     */
    public static void stream(SameDiff sd, Map<String, INDArray> feed, Collection<String> variables,
            java.util.function.BiConsumer<String, INDArray> sink) {
        List<String> computed = new ArrayList<>();
        for (String v : new LinkedHashSet<>(variables)) {
            if (feed.containsKey(v)) {
                sink.accept(v, feed.get(v));
            } else {
                computed.add(v);
            }
        }
        if (computed.isEmpty()) {
            return;
        }
        RunSession session = take(sd);
        try {
            session.freeDuringRun = plainDataflow(sd);
            session.sink = sink;
            session.output(computed, feed, null, Collections.emptyList(), Collections.emptyList(),
                    At.defaultAt(Operation.INFERENCE));
        } finally {
            session.sink = null;
            session.finish(List.of());
            give(sd, session);
        }
    }

    /**
     * An idle session of {@code sd}, or a new one. The idle sessions are kept in the graph's own session map under
     * negative keys (SameDiff's own sessions use thread ids, which are positive), so they live and die with the graph
     * and SameDiff drops them when the graph changes.
     */
    private static RunSession take(SameDiff sd) {
        Map<Long, InferenceSession> sessions = sd.getSessions();
        for (long slot = -1; slot >= -POOLED_SESSIONS; slot--) {
            InferenceSession s = sessions.get(slot);
            if (s instanceof RunSession && sessions.remove(slot, s)) {
                return (RunSession) s;
            }
        }
        resolveOutputs(sd);
        return new RunSession(sd);
    }

    /**
     * SameDiff M2.1's ops find their output variables on first use ({@code DynamicCustomOp.outputVariables}), and
     * publish the array before filling it: a second thread running a graph just loaded or copied could read an
     * empty output name and fail. So every op's outputs are resolved, under the graph's lock, before a run on a new
     * session; a pooled session was made after its graph had been resolved.
     */
    private static void resolveOutputs(SameDiff sd) {
        synchronized (sd) {
            for (SameDiffOp op : sd.getOps().values()) {
                op.getOp().outputVariables();
            }
        }
    }

    private static void give(SameDiff sd, RunSession session) {
        Map<Long, InferenceSession> sessions = sd.getSessions();
        for (long slot = -1; slot >= -POOLED_SESSIONS; slot--) {
            if (sessions.putIfAbsent(slot, session) == null) {
                return;
            }
        }
    }

    /** Whether every op of {@code sd} returns either fresh arrays or (identity, assign) one of its input objects. */
    static boolean plainDataflow(SameDiff sd) {
        for (SameDiffOp op : sd.getOps().values()) {
            if (!PLAIN.get(op.getOp().getClass())) {
                return false;
            }
        }
        return true;
    }

    private static final ClassValue<Boolean> PLAIN = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            return Identity.class.isAssignableFrom(type) || Assign.class.isAssignableFrom(type)
                    || ((CustomOp.class.isAssignableFrom(type) || Op.class.isAssignableFrom(type))
                    && !BaseTensorOp.class.isAssignableFrom(type)
                    && !type.getPackageName().startsWith("org.nd4j.linalg.api.ops.impl.controlflow")
                    && !type.getSimpleName().equals("CreateView"));
        }
    };

    /** Records every array allocated for one run. */
    static final class RunMemory extends AbstractMemoryMgr {
        /** Arrays allocated by this run and not closed yet, by identity. */
        final Set<INDArray> open = Collections.newSetFromMap(new IdentityHashMap<>());

        @Override
        public INDArray allocate(boolean detached, DataType dataType, long... shape) {
            return track(Nd4j.createUninitialized(dataType, shape));
        }

        @Override
        public INDArray allocate(boolean detached, LongShapeDescriptor descriptor) {
            return track(Nd4j.create(descriptor, false));
        }

        private INDArray track(INDArray array) {
            open.add(array);
            return array;
        }

        /** Closes {@code array} if this run allocated it and it is still open. */
        void close(INDArray array) {
            if (open.remove(array) && array.closeable()) {
                array.close();
            }
        }

        @Override
        public void release(INDArray array) {
            // The session's own release decisions are not safe in M2.1 (see the class comment): ignored.
        }

        @Override
        public void close() {
        }
    }

    /** One run's session: frees intermediate arrays as soon as their last reader has run. */
    static final class RunSession extends InferenceSession {
        private final RunMemory memory = new RunMemory();
        /** Whether this run closes arrays as soon as their last reader has run (see {@link #plainDataflow}). */
        boolean freeDuringRun;
        /** Per array object: how many (variable, reading op) pairs of this run have not run yet. */
        private final Map<INDArray, Integer> pending = new IdentityHashMap<>();
        /** Arrays returned to the caller: never closed. */
        private final Set<INDArray> pinned = Collections.newSetFromMap(new IdentityHashMap<>());
        /** Where a streaming run hands its requested variables ({@link #stream}); null in a plain run. */
        java.util.function.BiConsumer<String, INDArray> sink;

        RunSession(SameDiff sd) {
            super(sd);
            setMmgr(memory);
        }

        @Override
        public ExecutionResult getOutputs(Pair<SameDiffOp, OpContext> opPair, FrameIter outputFrameIter,
                Set<AbstractSession.VarId> opInputs, Set<AbstractSession.VarId> allIterInputs,
                Set<String> constAndPhInputs, List<Listener> listeners, At at, MultiDataSet batch,
                Set<String> allReqVariables, Map<String, SDValue> otherPlaceHolders) {
            // The inputs' arrays, read before the op runs (identity ops return them as their outputs).
            List<INDArray> inputs = new ArrayList<>();
            if (opInputs != null) {
                for (AbstractSession.VarId id : opInputs) {
                    INDArray input = getTensorFromOutputs(id);
                    requireValues(opPair.getFirst(), id.getVariable(), input);
                    inputs.add(input);
                }
            }
            SameDiffOp running = opPair.getFirst();
            List<String> operands = running.getInputsToOp();
            if (operands != null && !operands.isEmpty() && opInputs != null) {
                opInputs.stream().filter(id -> id.getVariable().equals(operands.get(0))).findFirst()
                        .ifPresent(id -> SpatialFit.require(running.getOp(), getTensorFromOutputs(id)));
            }
            ExecutionResult result = super.getOutputs(opPair, outputFrameIter, opInputs, allIterInputs,
                    constAndPhInputs, listeners, at, batch, allReqVariables, otherPlaceHolders);
            SameDiffOp op = opPair.getFirst();
            List<String> names = op.getOutputsOfOp();
            if (sink != null) {
                for (int i = 0; i < names.size() && i < result.numResults(); i++) {
                    INDArray array = result.hasSingle() ? result.resultAt(i) : tensorAt(result, i);
                    if (array != null && allReqVariables.contains(names.get(i))) {
                        sink.accept(names.get(i), array);
                    }
                }
            }
            if (!freeDuringRun) {
                return result;
            }
            for (int i = 0; i < names.size() && i < result.numResults(); i++) {
                INDArray array = result.hasSingle() ? result.resultAt(i) : tensorAt(result, i);
                if (array == null) {
                    continue;
                }
                if (sink == null && allReqVariables.contains(names.get(i))) {
                    pinned.add(array);
                }
                int readers = readersInRun(names.get(i));
                if (readers > 0) {
                    pending.merge(array, readers, Integer::sum);
                } else if (!pinned.contains(array) && !pending.containsKey(array)) {
                    memory.close(array); // nothing of this run reads it
                }
            }
            for (INDArray array : inputs) {
                if (array == null) {
                    continue;
                }
                Integer left = pending.get(array);
                if (left == null) {
                    continue;
                }
                if (left > 1) {
                    pending.put(array, left - 1);
                } else {
                    pending.remove(array);
                    if (!pinned.contains(array)) {
                        memory.close(array);
                    }
                }
            }
            return result;
        }

        /**
         * Refuses to run an op on an array with no values: libnd4j's kernels crash the JVM on them, and one appears
         * when an input is too small for the network (an image smaller than a convolution's kernel).
         */
        private static void requireValues(SameDiffOp op, String variable, INDArray array) {
            if (array != null && array.dataType().isFPType() && array.length() == 0) {
                throw new QuantizationException("op '" + op.getName() + "' (" + op.getOp().opName() + ") would read '"
                        + variable + "' of shape " + java.util.Arrays.toString(array.shape()) + ", which holds no"
                        + " values: the input is too small for the network (check the image height and width)");
            }
        }

        private static INDArray tensorAt(ExecutionResult result, int i) {
            SDValue value = result.valueWithKeyAtIndex(i, false);
            return value == null ? null : value.getTensorValue();
        }

        /** How many distinct ops of this run read {@code variable}. */
        private int readersInRun(String variable) {
            Variable v = sameDiff.getVariables().get(variable);
            if (v == null || v.getInputsForOp() == null) {
                return 0;
            }
            Set<String> readers = new LinkedHashSet<>(v.getInputsForOp());
            readers.retainAll(subgraphOps);
            return readers.size();
        }

        /** Closes everything this run allocated except {@code kept} (and arrays sharing their buffers). */
        void finish(Collection<INDArray> kept) {
            List<long[]> keptRanges = new ArrayList<>();
            for (INDArray array : kept) {
                if (array != null && !array.isEmpty()) {
                    DataBuffer data = array.data();
                    long start = data.platformAddress(); // where the data lives, host or device: no sync
                    keptRanges.add(new long[] {start, start + data.length() * data.getElementSize()});
                }
            }
            Map<INDArray, Boolean> keptArrays = new IdentityHashMap<>();
            kept.forEach(a -> keptArrays.put(a, true));
            for (INDArray array : new ArrayList<>(memory.open)) {
                if (keptArrays.containsKey(array) || sharesBuffer(array, keptRanges)) {
                    continue;
                }
                memory.close(array);
            }
            memory.open.clear();
            pending.clear();
            pinned.clear();
            // Nothing of this run is needed by the next one: drop the references (SameDiff M2.1 never clears these,
            // and freedArrays grows by every released array's id on every run).
            nodeValueOutputs.clear();
            freedArrays.clear();
            getArrayUseTracker().clear();
        }

        private static boolean sharesBuffer(INDArray array, List<long[]> ranges) {
            if (array.isEmpty() || array.wasClosed()) {
                return false;
            }
            DataBuffer data = array.data();
            long start = data.platformAddress(); // where the data lives, host or device: no sync
            long end = start + data.length() * data.getElementSize();
            for (long[] r : ranges) {
                if (start < r[1] && r[0] < end) {
                    return true;
                }
            }
            return false;
        }
    }
}
