package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.TensorObserver;
import org.quant4j.InputNormalization;
import org.quant4j.QuantizationException;
import org.quant4j.graph.ConsumerProbe;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizationPoints;

/**
 * What calibration learned about a network: per-channel statistics of every quantization point, observed once on
 * the calibration data ({@link QuantizationPipeline#calibrate}). {@link QuantizationPipeline#quantize} turns them
 * into a quantized network for any range method, bit widths and granularity, so a comparison of methods reads the
 * data once.
 *
 * <p>Points are always observed per channel; a per-tensor range is solved from the channels' statistics merged
 * ({@link TensorObserver#merged()}: counts, extremes and moments exactly; histograms re-binned onto the common
 * range). A tensor read along different channel axes by different ops is observed per tensor only.
 *
 * <p>Not thread-safe; the statistics are not changed by quantizing.
 */
public final class ObservedNetwork {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ObservedNetwork.class);

    private final ModelGraph fp32;
    private final List<QuantizableOp> ops;
    private final Map<QuantizableOp, QuantizationPoints.Point> points;
    private final Map<String, TensorObserver> observers;
    private final Map<String, String> axisConflicts;
    private final List<INDArray[]> heldBatches;
    private final int reportBatches;
    private final List<INDArray[]> allBatches;
    private final int batches;
    private final long samples;
    private final boolean cutOff;
    private final long millis;
    private final InputNormalization inputNormalization;
    private final boolean observerOps;
    private int opBatches;
    private ConsumerProbe probe;
    private boolean equalized;

    private ObservedNetwork(ModelGraph fp32, List<QuantizableOp> ops, Map<QuantizableOp, QuantizationPoints.Point> points,
            Map<String, TensorObserver> observers, Map<String, String> axisConflicts,
            List<INDArray[]> heldBatches, int reportBatches, List<INDArray[]> allBatches, int batches, long samples,
            boolean cutOff, long millis, InputNormalization inputNormalization, boolean observerOps) {
        this.fp32 = fp32;
        this.observerOps = observerOps;
        this.inputNormalization = inputNormalization;
        this.ops = List.copyOf(ops);
        this.points = points;
        this.observers = observers;
        this.axisConflicts = axisConflicts;
        this.heldBatches = List.copyOf(heldBatches);
        this.reportBatches = Math.min(reportBatches, heldBatches.size());
        this.allBatches = List.copyOf(allBatches);
        this.batches = batches;
        this.samples = samples;
        this.cutOff = cutOff;
        this.millis = millis;
    }

    /**
     * Observes the quantization points of {@code ops} on at most {@code maxBatches} batches, keeping the first
     * {@code keepBatches} for the SQNR report (and at least the first for the per-point granularity choice), and every
     * batch when {@code keepAll} (for sequential calibration, {@link #observedOn}); {@code inputNormalization} is
     * the normalization built into {@code fp32} at its input (null: none), recorded for the quantized model. With
     * {@code observerOps}, the statistics are computed in the graph by observer ops ({@link OpObservers}) from the
     * second batch on (the first, observed in Java, gives the tensors' ranks); the statistics are the same.
     */
    static ObservedNetwork observe(ModelGraph fp32, List<QuantizableOp> ops, Iterator<INDArray[]> data, int maxBatches,
            int keepBatches, boolean keepAll, InputNormalization inputNormalization, boolean observerOps) {
        Map<QuantizableOp, QuantizationPoints.Point> points = new LinkedHashMap<>();
        Map<String, Integer> axes = new LinkedHashMap<>();
        Map<String, String> conflicts = new LinkedHashMap<>();
        for (QuantizableOp op : ops) {
            QuantizationPoints.Point point = QuantizationPoints.of(fp32.graph(), op);
            points.put(op, point);
            Integer existing = axes.putIfAbsent(point.tensor(), point.axis());
            if (existing != null && existing != point.axis()) {
                conflicts.put(point.tensor(), "tensor '" + point.tensor() + "' is read with channel axis " + existing
                        + " and " + point.axis() + " by different ops");
            }
        }
        Map<String, TensorObserver> observers = new LinkedHashMap<>();
        axes.forEach((tensor, axis) -> observers.put(tensor,
                new TensorObserver(tensor, conflicts.containsKey(tensor) ? -1 : axis)));

        long start = System.nanoTime();
        List<INDArray[]> kept = new ArrayList<>();
        int keptBatches = 0;
        List<INDArray[]> all = new ArrayList<>();
        int batchCount = 0;
        long samples = 0;
        OpObservers opObservers = null;
        int opBatches = 0;
        ExampleChunks chunks = new ExampleChunks();
        while (batchCount < maxBatches && data.hasNext()) {
            INDArray[] features = data.next();
            for (int i = 0; i < features.length; i++) {
                String bad = FiniteValues.nonFinite(features[i]);
                if (bad != null) {
                    throw new QuantizationException("calibration batch " + batchCount + ": features " + i
                            + " (network input '" + fp32.inputs().get(i).name() + "') hold " + bad
                            + "; calibration data must be finite");
                }
            }
            boolean byOps = observeBatch(fp32, features, "calibration batch " + batchCount, observers, opObservers,
                    chunks);
            opBatches += byOps ? 1 : 0;
            if (observerOps && opObservers == null) {
                opObservers = OpObservers.of(fp32, observers);
            }
            // Copies: an iterator may hand out the same buffers again, refilled, for its next batch. The held ones
            // in chunks of examples sized by the activations observed (ExampleChunks): every later run on them runs
            // a chunk at a time.
            if (keptBatches < Math.max(1, keepBatches)) {
                kept.addAll(chunks.copies(features));
                keptBatches++;
            }
            if (keepAll) {
                all.add(copies(features));
            }
            samples += features[0].size(0);
            batchCount++;
        }
        if (batchCount == 0) {
            throw new QuantizationException("the calibration data is empty: its iterator gave no batch");
        }
        boolean cutOff = data.hasNext();
        if (cutOff) {
            LOG.info("calibration read the first {} batches ({} examples), the calibrationBatches limit; the rest of"
                    + " the calibration data was not read", batchCount, samples);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        ObservedNetwork observed = new ObservedNetwork(fp32, ops, points, observers, conflicts, kept,
                keepBatches == 0 ? 0 : kept.size(), all,
                batchCount, samples, cutOff, millis, inputNormalization, observerOps);
        observed.opBatches = opBatches;
        return observed;
    }

    /**
     * Runs {@code graph} on one batch and adds the observed tensors' values to the observers: through the observer
     * ops of {@code opObservers} when given and the batch's summaries are taken, otherwise from the tensors.
     */
    private static boolean observeBatch(ModelGraph graph, INDArray[] features, String what,
            Map<String, TensorObserver> observers, OpObservers opObservers, ExampleChunks chunks) {
        Map<String, INDArray> feed = InputFeed.of(graph.inputs(), features, what + ": features");
        if (opObservers != null) {
            if (opObservers.observe(feed, observers)) {
                return true;
            }
            LOG.debug("{}: a summary of the observer ops was refused (non-finite values); observed in Java", what);
        }
        // Chunk by chunk of examples (ExampleChunks), each tensor observed as soon as the run computes it, then
        // freed: a batch's activations are not all held.
        String first = graph.inputs().get(0).name();
        chunks.forEach(feed, feed.get(first), chunk -> {
            long examples = ExampleChunks.examples(chunk.get(first));
            GraphExecution.stream(graph.graph(), chunk, observers.keySet(), (t, v) -> {
                chunks.saw(v, examples);
                observers.get(t).observe(v);
            });
        });
        return false;
    }

    /**
     * Sequential calibration: the same points observed again, on {@code quantized} (the fp32 graph rewritten with
     * fake-quant ops, whose point tensors keep their names and now carry the errors of every quantizer before
     * them), over the calibration batches kept when calibrating.
     *
     * @throws QuantizationException when the calibration did not keep its batches (it was made with
     *                               {@code sequentialPasses} 0)
     */
    ObservedNetwork observedOn(ModelGraph quantized) {
        if (allBatches.isEmpty()) {
            throw new QuantizationException("sequential calibration needs the calibration batches, which this "
                    + "calibration did not keep: calibrate with options whose sequentialPasses is at least 1");
        }
        long start = System.nanoTime();
        Map<String, TensorObserver> again = new LinkedHashMap<>();
        observers.forEach((tensor, o) -> again.put(tensor, new TensorObserver(tensor, o.axis())));
        OpObservers opObservers = null;
        int opBatches = 0;
        ExampleChunks chunks = new ExampleChunks();
        for (int b = 0; b < allBatches.size(); b++) {
            boolean byOps = observeBatch(quantized, allBatches.get(b), "calibration batch " + b, again, opObservers,
                    chunks);
            opBatches += byOps ? 1 : 0;
            if (observerOps && opObservers == null) {
                opObservers = OpObservers.of(quantized, again);
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        ObservedNetwork observed = new ObservedNetwork(fp32, ops, points, again, axisConflicts, heldBatches,
                reportBatches, allBatches, batches, samples, cutOff, this.millis + millis, inputNormalization,
                observerOps);
        observed.probe = probe;
        observed.equalized = equalized;
        observed.opBatches = opBatches;
        return observed;
    }

    /**
     * How many batches were observed through observer ops (the option {@code observerOps}): every batch but the
     * first, less any whose summaries were refused (non-finite values) and observed in Java.
     */
    public int observerOpBatches() {
        return opBatches;
    }

    /** Copies of the observers of every point, by tensor, in observation order. */
    public Map<String, TensorObserver> observers() {
        Map<String, TensorObserver> copies = new LinkedHashMap<>();
        observers.forEach((tensor, o) -> copies.put(tensor, o.copy()));
        return copies;
    }

    /**
     * This network (graph, points, held batches) with the statistics of {@code statistics} instead of its own: the
     * statistics of the same points observed elsewhere, on {@code batches} batches of {@code samples} examples in
     * all (distributed calibration merges them). The observers are copied.
     *
     * @throws QuantizationException when the points differ (a tensor missing, extra or observed along another axis
     *                               or with another number of channels), or when this calibration kept every batch
     *                               for sequential passes (they would re-read only the batches seen here)
     */
    public ObservedNetwork withStatistics(Map<String, TensorObserver> statistics, int batches, long samples) {
        if (!allBatches.isEmpty()) {
            throw new QuantizationException("statistics observed elsewhere cannot replace those of a calibration made"
                    + " for sequential passes (they re-read every calibration batch on one machine): calibrate with"
                    + " sequentialPasses 0");
        }
        if (!statistics.keySet().equals(observers.keySet())) {
            Set<String> missing = new LinkedHashSet<>(observers.keySet());
            missing.removeAll(statistics.keySet());
            Set<String> extra = new LinkedHashSet<>(statistics.keySet());
            extra.removeAll(observers.keySet());
            throw new QuantizationException("the statistics are not of this network's quantization points: missing "
                    + missing + ", not points here " + extra);
        }
        Map<String, TensorObserver> copies = new LinkedHashMap<>();
        observers.forEach((tensor, own) -> {
            TensorObserver other = statistics.get(tensor);
            if (other.axis() != own.axis() || other.rank() != own.rank()
                    || other.channels().length != own.channels().length) {
                throw new QuantizationException("the statistics of tensor '" + tensor + "' are of rank "
                        + other.rank() + ", channel axis " + other.axis() + ", " + other.channels().length
                        + " channels; this network's point has rank " + own.rank() + ", axis " + own.axis() + ", "
                        + own.channels().length + " channels");
            }
            copies.put(tensor, other.copy());
        });
        ObservedNetwork observed = new ObservedNetwork(fp32, ops, points, copies, axisConflicts, heldBatches,
                reportBatches, allBatches, batches, samples, false, millis, inputNormalization, observerOps);
        observed.probe = probe;
        observed.equalized = equalized;
        return observed;
    }

    /** The statistics of a point: one per channel, or the channels merged into one when not {@code perChannel}. */
    public ChannelStatistics[] statistics(String tensor, boolean perChannel) {
        TensorObserver observer = observers.get(tensor);
        if (perChannel && axisConflicts.containsKey(tensor)) {
            throw new QuantizationException(axisConflicts.get(tensor));
        }
        if (perChannel || observer.axis() < 0) {
            return observer.channels();
        }
        return new ChannelStatistics[] {observer.merged()};
    }

    /** Whether {@code tensor} is a quantization point observed here. */
    public boolean observes(String tensor) {
        return observers.containsKey(tensor);
    }

    /** The input normalization built into the fp32 graph when calibrating, or null. */
    public InputNormalization inputNormalization() {
        return inputNormalization;
    }

    /** The fp32 graph calibrated (BatchNorms folded, and cross-layer equalized when {@link #equalized}). */
    public ModelGraph fp32Graph() {
        return fp32;
    }

    /** Whether the fp32 graph was cross-layer equalized before calibration. */
    public boolean equalized() {
        return equalized;
    }

    /** This, marked as observed on a cross-layer equalized graph (set once, by the pipeline). */
    ObservedNetwork markEqualized() {
        equalized = true;
        return this;
    }

    int axis(String tensor) {
        return observers.get(tensor).axis();
    }

    int rank(String tensor) {
        return observers.get(tensor).rank();
    }

    List<QuantizableOp> ops() {
        return ops;
    }

    QuantizationPoints.Point point(QuantizableOp op) {
        return points.get(op);
    }

    /** The first calibration batches, on which the per-layer SQNR is reported. */
    List<INDArray[]> reportBatches() {
        return heldBatches.subList(0, reportBatches);
    }

    /**
     * The first calibration batches (at least one), on which the per-point granularity choice and bias correction
     * are measured, in chunks of examples ({@link ExampleChunks}).
     */
    List<INDArray[]> heldBatches() {
        return heldBatches;
    }

    /** The quantizable ops of the fp32 graph, runnable on their own from their points (made on first need). */
    synchronized ConsumerProbe probe() {
        if (probe == null) {
            probe = ConsumerProbe.of(fp32, ops, ops.stream().map(op -> points.get(op).tensor()).toList());
        }
        return probe;
    }

    /**
     * Frees the native memory of the fp32 graph and the held batches now, for a calibration used once and dropped
     * (the quantized graph shares no array with the fp32 one): an ND4J array is otherwise freed only when the garbage
     * collector finds it unreachable. This network must not be used afterwards.
     */
    public void release() {
        org.quant4j.graph.GraphCopy.release(fp32.graph());
        java.util.Set<INDArray> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (List<INDArray[]> list : List.of(heldBatches, allBatches)) {
            for (INDArray[] batch : list) {
                for (INDArray a : batch) {
                    if (a != null && seen.add(a) && a.closeable()) {
                        a.close();
                    }
                }
            }
        }
        probe = null;
    }

    /** Batches read. */
    public int batches() {
        return batches;
    }

    /** Examples read. */
    /** Whether the calibration data had more batches than the calibration read (the calibrationBatches limit). */
    public boolean cutOff() {
        return cutOff;
    }

    /** Dense copies of a batch's arrays. */
    private static INDArray[] copies(INDArray[] features) {
        INDArray[] copy = new INDArray[features.length];
        for (int i = 0; i < features.length; i++) {
            copy[i] = features[i] == null ? null : features[i].dup('c');
        }
        return copy;
    }

    public long samples() {
        return samples;
    }

    /** Time spent observing, in milliseconds. */
    public long millis() {
        return millis;
    }
}
