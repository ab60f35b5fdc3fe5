package org.quant4j.graph;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a graph on a set of batches target after target, each target computed from values held at cut tensors
 * rather than from the graph's inputs: the cost of visiting {@code L} targets in order is about one run of the graph
 * per batch, where running the graph up to each target is about {@code L/2} runs.
 *
 * <p>The graph is copied (sharing every array) with each cut tensor's readers reading a placeholder instead. A
 * target's value on a batch is then computed from the cut values it depends on (the nearest cuts upstream of it), and
 * a cut's value from the cuts upstream of it, each cut when first needed and once, on every batch; a cut's values
 * are freed when the last target or cut that reads them has been computed. So what is held at once is the cut
 * values between the targets already visited and those still to come, on every batch: the frontier of a run of the
 * graph on all batches together.
 *
 * <p>The caller may change the graph's arrays in place once it is done with a target (bias correction does): the
 * values computed later see the change, because a cut is computed only when a target downstream of it is reached.
 * With the targets in topological order, every value is what running the changed graph from its inputs would give
 * at that point. A target that is also a cut is computed twice (as a target, and as a cut when needed), so that a
 * change made after it is seen; a run {@linkplain #reading reading} a graph that nobody changes computes it once, as
 * a cut, and hands out the cut's values.
 */
public final class StagedRun implements AutoCloseable {

    private static final String CUT_SUFFIX = "#stage";

    private final SameDiff staged;
    private final List<Map<String, INDArray>> feeds;
    private final List<String> targets;
    /** Arrays the run did not make (the feeds, the graph's constants and variables): never closed. */
    private final Set<INDArray> foreign = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<String, Set<String>> placeholders = new HashMap<>();
    private final HeldValues held;
    private final Map<String, Integer> readers = new HashMap<>();
    /** The cut tensors (their readers read placeholders); with {@link #readOnly}, targets among them are held. */
    private final Set<String> cuts = new java.util.HashSet<>();
    private final boolean readOnly;
    /** The current or next target's index in {@link #targets}; whether its values are being taken; the last one. */
    private int next;
    private boolean started;
    private INDArray current;
    /** Whether {@link #current} is a cut's held value (not to be freed with the next value). */
    private boolean currentHeld;

    private StagedRun(SameDiff staged, List<Map<String, INDArray>> feeds, List<String> targets, long budget,
            boolean readOnly) {
        this.staged = staged;
        this.readOnly = readOnly;
        this.feeds = feeds;
        this.targets = List.copyOf(targets);
        this.held = new HeldValues(budget, this::close);
    }

    /**
     * A staged run of {@code graph} on every batch of {@code batches}, for {@code targets} (variables of the graph,
     * asked for in this order, which must be topological), holding values at {@code cuts} (variables computed by the
     * graph; others named there are ignored).
     */
    public static StagedRun of(ModelGraph graph, Collection<String> cuts, List<INDArray[]> batches,
            List<String> targets) {
        return of(graph, cuts, batches, targets, HeldValues.DEFAULT_BUDGET);
    }

    /**
     * {@link #of(ModelGraph, Collection, List, List)} keeping at most {@code budget} bytes of cut values in memory
     * (the least recently used beyond it in a temporary file, {@link HeldValues}).
     */
    public static StagedRun of(ModelGraph graph, Collection<String> cuts, List<INDArray[]> batches,
            List<String> targets, long budget) {
        return make(graph, cuts, batches, targets, budget, false);
    }

    /**
     * {@link #of(ModelGraph, Collection, List, List)} for a caller that changes none of the graph's arrays while the
     * run is open: a target that is also a cut is computed once.
     */
    public static StagedRun reading(ModelGraph graph, Collection<String> cuts, List<INDArray[]> batches,
            List<String> targets) {
        return reading(graph, cuts, batches, targets, HeldValues.DEFAULT_BUDGET);
    }

    /** {@link #reading(ModelGraph, Collection, List, List)} keeping at most {@code budget} bytes in memory. */
    public static StagedRun reading(ModelGraph graph, Collection<String> cuts, List<INDArray[]> batches,
            List<String> targets, long budget) {
        return make(graph, cuts, batches, targets, budget, true);
    }

    private static StagedRun make(ModelGraph graph, Collection<String> cuts, List<INDArray[]> batches,
            List<String> targets, long budget, boolean readOnly) {
        List<Map<String, INDArray>> feeds = new ArrayList<>();
        for (int b = 0; b < batches.size(); b++) {
            feeds.add(InputFeed.of(graph.inputs(), batches.get(b), "batch " + b + ": features"));
        }
        SameDiff staged = GraphCopy.sharingArrays(graph.graph());
        Set<String> redirected = new java.util.HashSet<>();
        Set<String> all = new LinkedHashSet<>(cuts);
        all.addAll(branchPoints(graph.graph()));
        for (String cut : all) {
            Variable v = staged.getVariables().get(cut);
            if (v != null && v.getOutputOfOp() != null && v.getInputsForOp() != null
                    && !v.getInputsForOp().isEmpty()) {
                GraphEditing.redirect(staged, cut, cut + CUT_SUFFIX, List.copyOf(v.getInputsForOp()));
                redirected.add(cut);
            }
        }
        StagedRun run = new StagedRun(staged, feeds, targets, budget, readOnly);
        run.cuts.addAll(redirected);
        feeds.forEach(f -> run.foreign.addAll(f.values()));
        for (SameDiff sd : List.of(graph.graph(), staged)) {
            sd.getConstantArrays().arrayNames().forEach(n -> run.foreign.add(sd.getConstantArrays().getArray(n)));
            sd.getVariablesArrays().arrayNames().forEach(n -> run.foreign.add(sd.getVariablesArrays().getArray(n)));
        }
        run.countReaders();
        return run;
    }

    /**
     * The values of {@code sd} that depend on its inputs and that two or more ops read (a residual block's input, a
     * U-Net's skip connection): cut there too, so that each is computed once per batch rather than once per path
     * through it.
     */
    private static Set<String> branchPoints(SameDiff sd) {
        Map<String, Boolean> fed = new HashMap<>();
        Set<String> points = new LinkedHashSet<>();
        for (Variable v : sd.getVariables().values()) {
            if (v.getOutputOfOp() != null && v.getInputsForOp() != null
                    && new java.util.HashSet<>(v.getInputsForOp()).size() >= 2 && dependsOnInput(sd, v.getName(), fed)) {
                points.add(v.getName());
            }
        }
        return points;
    }

    /** Whether a placeholder is upstream of {@code name} (memoized in {@code fed}). */
    private static boolean dependsOnInput(SameDiff sd, String name, Map<String, Boolean> fed) {
        Boolean known = fed.get(name);
        if (known != null) {
            return known;
        }
        List<String> stack = new ArrayList<>(List.of(name));
        List<String> order = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        boolean found = false;
        while (!stack.isEmpty() && !found) {
            String n = stack.remove(stack.size() - 1);
            if (!seen.add(n)) {
                continue;
            }
            Boolean k = fed.get(n);
            Variable v = sd.getVariables().get(n);
            if (Boolean.TRUE.equals(k) || v.getVariable().getVariableType() == VariableType.PLACEHOLDER) {
                found = true;
            } else if (k == null && v.getOutputOfOp() != null) {
                order.add(n);
                List<String> in = sd.getOps().get(v.getOutputOfOp()).getInputsToOp();
                if (in != null) {
                    stack.addAll(in);
                }
            }
        }
        if (!found) {
            order.forEach(n -> fed.put(n, false)); // every variable visited reads no input
        }
        fed.put(name, found);
        return found;
    }

    /** Who reads each cut: the targets, and the cuts computed for them (each once). */
    private void countReaders() {
        Set<String> needed = new LinkedHashSet<>();
        List<String> pending = new ArrayList<>();
        for (String target : targets) {
            for (String cut : cutsOf(target)) {
                readers.merge(cut, 1, Integer::sum);
                pending.add(cut);
            }
            if (readOnly && cuts.contains(target)) {
                pending.add(target); // computed as a cut (value)
            }
        }
        while (!pending.isEmpty()) {
            String cut = pending.remove(pending.size() - 1);
            if (needed.add(cut)) {
                for (String upstream : cutsOf(cut)) {
                    readers.merge(upstream, 1, Integer::sum);
                    pending.add(upstream);
                }
            }
        }
    }

    /**
     * The value of {@code target}, the current or next target, on batch {@code batch}, computed with the graph's
     * arrays as they are now; valid until the next call of this method or of {@link #done}, which free it.
     *
     * @throws IllegalStateException when {@code target} is neither the current target nor, once the current one is
     *                               done, the next
     */
    public INDArray value(String target, int batch) {
        if (next >= targets.size() || !targets.get(next).equals(target)) {
            throw new IllegalStateException("asked for '" + target + "'; the " + (started ? "current" : "next")
                    + " target is " + (next < targets.size() ? "'" + targets.get(next) + "'" : "none"));
        }
        if (!started) {
            cutsOf(target).forEach(this::ensure);
            if (readOnly && cuts.contains(target)) {
                ensure(target);
            }
            started = true;
        }
        releaseCurrent();
        if (readOnly && cuts.contains(target)) {
            current = held.get(target, batch);
            currentHeld = !held.inFile(target); // a value read back from the file is this call's to free
        } else {
            current = compute(target, batch);
        }
        return current;
    }

    /**
     * The current target is done: its last value is freed, and so are the cut values only it still needed. Changes
     * made to the graph's arrays from now on are seen by the targets after it.
     */
    public void done(String target) {
        if (!started || !targets.get(next).equals(target)) {
            throw new IllegalStateException("'" + target + "' is not the current target");
        }
        releaseCurrent();
        started = false;
        next++;
        cutsOf(target).forEach(this::read);
        if (readOnly && cuts.contains(target) && readers.getOrDefault(target, 0) <= 0) {
            held.remove(target); // held for this target only: no target or cut downstream reads it
        }
    }

    private void releaseCurrent() {
        if (current != null && !currentHeld) {
            close(current);
        }
        current = null;
        currentHeld = false;
    }

    /** Frees every value still held. */
    @Override
    public void close() {
        releaseCurrent();
        held.close();
    }

    /** Computes the values of {@code cut} on every batch unless held (the cuts upstream of it first). */
    private void ensure(String cut) {
        if (held.contains(cut)) {
            return;
        }
        List<String> upstream = cutsOf(cut);
        upstream.forEach(this::ensure);
        INDArray[] values = new INDArray[feeds.size()];
        for (int b = 0; b < feeds.size(); b++) {
            values[b] = compute(cut, b);
        }
        held.put(cut, values);
        upstream.forEach(this::read);
    }

    /** One reader of {@code cut} is done; the last frees its values. */
    private void read(String cut) {
        int left = readers.merge(cut, -1, Integer::sum);
        if (left <= 0) {
            held.remove(cut);
        }
    }

    private INDArray compute(String variable, int batch) {
        Map<String, INDArray> feed = new HashMap<>();
        List<INDArray> read = new ArrayList<>(); // values read back from the file for this run: freed after it
        for (String p : placeholdersOf(variable)) {
            if (p.endsWith(CUT_SUFFIX)) {
                String cut = cutName(p);
                INDArray v = held.get(cut, batch);
                if (held.inFile(cut)) {
                    read.add(v);
                }
                feed.put(p, v);
            } else {
                feed.put(p, feeds.get(batch).get(p));
            }
        }
        INDArray value = GraphExecution.output(staged, feed, List.of(variable)).get(variable);
        // A value that is a view of a fed one (a reshape, say) would die with it: it gets buffers of its own.
        INDArray own = feed.values().stream().anyMatch(f -> overlaps(f, value)) ? value.dup() : value;
        read.forEach(this::close);
        return own;
    }

    private static boolean overlaps(INDArray a, INDArray b) {
        if (a.isEmpty() || b.isEmpty()) {
            return false;
        }
        long aStart = a.data().platformAddress();
        long bStart = b.data().platformAddress();
        return aStart < bStart + b.data().length() * b.data().getElementSize()
                && bStart < aStart + a.data().length() * a.data().getElementSize();
    }

    private void close(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a != null && !foreign.contains(a) && a.closeable() && !a.wasClosed()) {
                a.close();
            }
        }
    }

    private List<String> cutsOf(String variable) {
        return placeholdersOf(variable).stream().filter(p -> p.endsWith(CUT_SUFFIX)).map(StagedRun::cutName)
                .toList();
    }

    private static String cutName(String placeholder) {
        return placeholder.substring(0, placeholder.length() - CUT_SUFFIX.length());
    }

    /** The placeholders of the staged graph that computing {@code variable} reads. */
    private Set<String> placeholdersOf(String variable) {
        Set<String> found = placeholders.get(variable);
        if (found != null) {
            return found;
        }
        found = new LinkedHashSet<>();
        Set<String> seenOps = new java.util.HashSet<>();
        List<String> stack = new ArrayList<>(List.of(variable));
        while (!stack.isEmpty()) {
            Variable v = staged.getVariables().get(stack.remove(stack.size() - 1));
            if (v.getVariable().getVariableType() == VariableType.PLACEHOLDER) {
                found.add(v.getName());
            } else if (v.getOutputOfOp() != null && seenOps.add(v.getOutputOfOp())) {
                SameDiffOp op = staged.getOps().get(v.getOutputOfOp());
                if (op.getInputsToOp() != null) {
                    stack.addAll(op.getInputsToOp());
                }
            }
        }
        placeholders.put(variable, found);
        return found;
    }
}
