package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.Granularity;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationListener.Phase;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizationPhases;
import org.quant4j.graph.BatchNormFolding;
import org.quant4j.graph.CrossLayerEqualization;
import org.quant4j.graph.DequantizedGraph;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.graph.GraphCopy;
import org.quant4j.graph.InputNormalizationPass;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.StagedRun;
import org.quant4j.graph.QuantizableOps;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.report.LayerSqnr;
import org.quant4j.report.QuantizationReport;
import org.quant4j.report.SqnrMeter;
import org.quant4j.runtime.Dnnl;

/**
 * The quantization pipeline on a converted graph: fold BatchNorms, equalize across layers when asked
 * ({@link CrossLayerEqualization}) and observe the quantization points on the
 * calibration data ({@link #calibrate}); then solve a range per channel with the chosen range method
 * ({@link RangeSetting}, with the per-point granularity choice of {@link PointChoice}), check the choices as a whole
 * ({@link PerChannelCheck}), rewrite a copy of the graph with fake-quant ops, learn the weights' rounding when asked
 * ({@link AdaRound}), correct biases
 * ({@link MeasuredBiasCorrection}) and measure every layer's SQNR against fp32 ({@link #quantize}).
 */
public final class QuantizationPipeline {

    private QuantizationPipeline() {
    }

    /** ObservedNetwork of a converted graph (public for the report, which replays the calibration). */
    public static ObservedNetwork calibrate(ModelGraph converted, Iterator<INDArray[]> batches, QuantizationOptions options) {
        ModelGraph fp32 = QuantizationPhases.timed(Phase.CONVERSION, () -> prepared(converted, options));
        List<QuantizableOp> all = QuantizableOps.find(fp32.graph());
        ObservedNetwork observed = QuantizationPhases.timed(Phase.CALIBRATION, () -> ObservedNetwork.observe(fp32,
                all, batches, options.calibrationBatches(), options.reportBatches(), options.sequentialPasses() > 0,
                options.inputNormalization(), options.observerOps()));
        return options.crossLayerEqualization() ? observed.markEqualized() : observed;
    }

    /** The converted graph checked, its input normalization built in, BatchNorms folded, equalized when asked. */
    private static ModelGraph prepared(ModelGraph converted, QuantizationOptions options) {
        FiniteValues.requireFiniteParameters(converted.graph());
        if (options.inputNormalization() != null) {
            InputNormalizationPass.insert(converted, options.inputNormalization());
        }
        Map<String, BatchNormFolding.Folded> batchNorms = new java.util.HashMap<>();
        ModelGraph fp32 = BatchNormFolding.fold(converted, batchNorms);
        if (options.crossLayerEqualization()) {
            CrossLayerEqualization.equalize(fp32, batchNorms); // with high-bias absorption
        }
        return fp32;
    }

    /**
     * Quantizes with the statistics of {@code calibration}: solve ranges, quantize weights, rewrite, measure. The
     * options are first {@linkplain QuantizationOptions#resolved resolved} for this machine's int8 kernels.
     */
    public static QuantizedNetwork.Whole quantize(ObservedNetwork calibration, QuantizationOptions requested) {
        if (requested.inputNormalization() != null
                && !requested.inputNormalization().equals(calibration.inputNormalization())) {
            throw new QuantizationException("the options' input normalizer (" + requested.inputNormalization()
                    + ") is not the one built in when calibrating (" + (calibration.inputNormalization() == null
                    ? "none" : calibration.inputNormalization())
                    + "): it is applied at calibration; calibrate with it");
        }
        // Equalization happened (or not) when calibrating; the model's options say which.
        QuantizationOptions options = requested.resolved(Dnnl.safeWeightBits())
                .withInputNormalization(calibration.inputNormalization())
                .withCrossLayerEqualization(calibration.equalized());
        ModelGraph fp32 = calibration.fp32Graph();
        List<String> kept = new ArrayList<>();
        List<QuantizableOp> ops = selected(calibration.ops(), options, kept);

        long start = System.nanoTime();
        Quantized result = quantizeGraph(calibration, ops, options);
        int held = calibration.heldBatches().stream().mapToInt(b -> (int) b[0].size(0)).sum();
        if (options.activationGranularity() == Granularity.PER_POINT && OutputDivergence.canReject(held)
                && result.quantizations().stream().anyMatch(t -> t.kind() == TensorQuantization.Kind.ACTIVATION
                        && t.scales().length == 1 && calibration.statistics(t.tensor(), true).length > 1)) {
            Quantized unchecked = result;
            result = QuantizationPhases.timed(Phase.PER_CHANNEL_CHECK,
                    () -> PerChannelCheck.checked(calibration, ops, options, unchecked));
        }
        List<TensorQuantization> quantizations = result.quantizations();
        ModelGraph quantized = result.graph();
        long solveMillis = (System.nanoTime() - start) / 1_000_000;

        List<LayerSqnr> sqnr = QuantizationPhases.timed(Phase.REPORT,
                () -> measureSqnr(fp32, quantized, calibration.reportBatches()));
        String granularity = describe(options.activationGranularity(), quantizations) + " activations"
                + zeroPoints(options.activationZeroPoints(), quantizations) + ", "
                + options.weightGranularity().label() + " weights";
        QuantizationReport report = new QuantizationReport(options.activationRangeMethod().name(),
                options.weightRangeMethod().name(),
                options.activationBits(), options.weightBits(), granularity, calibration.batches(),
                calibration.samples(), calibration.cutOff(), ops.stream().map(QuantizableOp::output).toList(), kept,
                calibration.millis(), solveMillis, sqnr,
                options.inputNormalization() == null ? null : options.inputNormalization().description());
        return new QuantizedNetwork.Whole(quantized, options, quantizations, report);
    }

    /**
     * The ops of {@code all} to quantize: those not kept in fp32 by the options (added to {@code kept}); a name in
     * {@code keepFp32} that matches no op is refused, listing the quantizable layers.
     */
    private static List<QuantizableOp> selected(List<QuantizableOp> all, QuantizationOptions options,
            List<String> kept) {
        List<QuantizableOp> ops = new ArrayList<>();
        Set<String> unmatched = new LinkedHashSet<>(options.keepFp32());
        for (QuantizableOp op : all) {
            String layer = layerOf(op.output());
            if (options.keepFp32().contains(op.output()) || options.keepFp32().contains(layer)) {
                kept.add(op.output());
                unmatched.remove(op.output());
                unmatched.remove(layer);
            } else {
                ops.add(op);
            }
        }
        if (!unmatched.isEmpty()) {
            TreeSet<String> known = new TreeSet<>();
            all.forEach(op -> known.add(layerOf(op.output())));
            throw new QuantizationException("keepFp32 names no quantizable layer: " + unmatched
                    + " (quantizable layers: " + known + ")");
        }
        return ops;
    }

    /**
     * Dynamic quantization (PyTorch's {@code quantize_dynamic}), without calibration data: BatchNorms folded (and
     * layers equalized when asked: both need no data), then every dense and recurrent product's weights quantized
     * on their own, per output channel with the default options ({@link RangeSetting#solveDynamic}), and each
     * product's data input quantized per call on the symmetric 8-bit grid from its own largest magnitude,
     * {@code s = max|x| / 127} over the whole tensor of that call (batch): {@code graph.DynamicInputs}. Convolutions
     * stay fp32. Nothing is measured on data: the report's SQNR is NaN, and bias correction, AdaRound and sequential
     * calibration (which need data) are off in the model's options, as are zero points (the grid is symmetric).
     */
    public static QuantizedNetwork.Whole quantizeDynamic(ModelGraph converted, QuantizationOptions requested) {
        FiniteValues.requireFiniteParameters(converted.graph());
        if (requested.inputNormalization() != null) {
            InputNormalizationPass.insert(converted, requested.inputNormalization());
        }
        Map<String, BatchNormFolding.Folded> batchNorms = new java.util.HashMap<>();
        ModelGraph fp32 = BatchNormFolding.fold(converted, batchNorms);
        if (requested.crossLayerEqualization()) {
            CrossLayerEqualization.equalize(fp32, batchNorms);
        }
        QuantizationOptions r = requested.resolved(Dnnl.safeWeightBits());
        QuantizationOptions options = r.toBuilder().activationBits(8).activationGranularity(Granularity.PER_TENSOR)
                .biasCorrection(false).sequentialPasses(0).activationZeroPoints(org.quant4j.ZeroPoints.OFF)
                .adaround(0).observerOps(false).build();
        List<String> kept = new ArrayList<>();
        List<QuantizableOp> ops = selected(QuantizableOps.find(fp32.graph()), options, kept);
        long start = System.nanoTime();
        List<TensorQuantization> quantizations = RangeSetting.solveDynamic(fp32, ops, options);
        ModelGraph quantized = fp32.copy();
        FakeQuantRewriter.rewrite(quantized.graph(), quantizations);
        long solveMillis = (System.nanoTime() - start) / 1_000_000;
        List<String> dynamic = new ArrayList<>();
        for (QuantizableOp op : ops) {
            (op.type().equals("xw_plus_b") || op.type().equals("matmul") ? dynamic : kept).add(op.output());
        }
        QuantizationReport report = new QuantizationReport("dynamic (per batch)",
                options.weightRangeMethod().name(), options.activationBits(), options.weightBits(),
                "dynamic per-tensor activations (a scale per call), " + options.weightGranularity().label()
                        + " weights", 0, 0, false, dynamic, kept, 0, solveMillis,
                measureSqnr(fp32, quantized, List.of()),
                options.inputNormalization() == null ? null : options.inputNormalization().description());
        return new QuantizedNetwork.Whole(quantized, options, quantizations, report);
    }

    /** A quantization of every point and weight, and the fake-quant graph made with it. */
    record Quantized(List<TensorQuantization> quantizations, ModelGraph graph) {
    }

    /** Solves the ranges and rewrites the graph (again on the quantized network's values, per sequential pass). */
    static Quantized quantizeGraph(ObservedNetwork calibration, List<QuantizableOp> ops,
            QuantizationOptions options) {
        List<TensorQuantization> quantizations = QuantizationPhases.timed(Phase.SOLVE,
                () -> RangeSetting.solveRanges(calibration, ops, options));
        Quantized result = rewrite(calibration, ops, quantizations, options);
        for (int pass = 0; pass < options.sequentialPasses(); pass++) {
            ModelGraph previous = result.graph();
            ObservedNetwork observed = QuantizationPhases.timed(Phase.CALIBRATION,
                    () -> calibration.observedOn(previous));
            List<TensorQuantization> solved = QuantizationPhases.timed(Phase.SOLVE,
                    () -> RangeSetting.solveRanges(observed, ops, options));
            result = rewrite(observed, ops, solved, options);
        }
        return result;
    }

    /**
     * A copy of the fp32 graph rewritten with fake-quant ops, its weights' rounding learned when asked
     * ({@link AdaRound}), then bias-corrected when asked.
     */
    private static Quantized rewrite(ObservedNetwork calibration, List<QuantizableOp> ops,
            List<TensorQuantization> solved, QuantizationOptions options) {
        ModelGraph fp32 = calibration.fp32Graph();
        ModelGraph quantized = QuantizationPhases.timed(Phase.REWRITE, () -> {
            // The weights are read once by the rewrite and replaced by their levels: shared, not copied, until then.
            Set<String> weights = new java.util.HashSet<>();
            solved.stream().filter(t -> t.kind() == TensorQuantization.Kind.WEIGHT)
                    .forEach(t -> weights.add(t.tensor()));
            ModelGraph copy = fp32.copySharing(weights);
            FakeQuantRewriter.rewrite(copy.graph(), solved);
            GraphCopy.unshare(fp32.graph(), copy.graph(), weights);
            return copy;
        });
        List<TensorQuantization> quantizations = options.adaroundIterations() <= 0 ? solved
                : QuantizationPhases.timed(Phase.ADAROUND, () -> AdaRound.apply(calibration, ops, solved, quantized,
                        options.adaroundIterations())).quantizations();
        if (options.biasCorrection()) {
            QuantizationPhases.timed(Phase.BIAS_CORRECTION,
                    () -> MeasuredBiasCorrection.apply(calibration, ops, quantized));
        }
        return new Quantized(quantizations, quantized);
    }

    /** The activation granularity; per-point with how many points chose per-channel scales. */
    private static String describe(Granularity g, List<TensorQuantization> quantizations) {
        if (g != Granularity.PER_POINT) {
            return g.label();
        }
        List<TensorQuantization> points = quantizations.stream()
                .filter(t -> t.kind() == TensorQuantization.Kind.ACTIVATION).toList();
        long perChannel = points.stream().filter(t -> t.scales().length > 1).count();
        return "per-point (" + perChannel + " of " + points.size() + " points per-channel)";
    }

    /** With zero points on or per point: at how many activation points they are (" (zero points at 2 of 5)"). */
    private static String zeroPoints(org.quant4j.ZeroPoints setting, List<TensorQuantization> quantizations) {
        if (setting == org.quant4j.ZeroPoints.OFF) {
            return "";
        }
        List<TensorQuantization> points = quantizations.stream()
                .filter(t -> t.kind() == TensorQuantization.Kind.ACTIVATION).toList();
        return " (zero points at " + points.stream().filter(TensorQuantization::hasZeroPoints).count() + " of "
                + points.size() + ")";
    }

    /** DL4J-converted ops output {@code <layer>/<part>}; the layer is the part before the first slash. */
    private static String layerOf(String variable) {
        int slash = variable.indexOf('/');
        return slash < 0 ? variable : variable.substring(0, slash);
    }

    /**
     * Per-layer SQNR of the quantized graph against fp32 on the given batches. Both graphs run staged
     * ({@link StagedRun}, cut at the layer outputs) side by side, layer after layer: each layer's outputs of both
     * graphs are compared and freed before the next layer's are computed, at the cost of about one run of each graph
     * per batch (the quantized one with its weights dequantized once, {@link DequantizedGraph}); batch after batch, so
     * that the values of one batch are held at a time.
     */
    private static List<LayerSqnr> measureSqnr(ModelGraph fp32, ModelGraph quantized, List<INDArray[]> batches) {
        List<String> variables = fp32.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).distinct()
                .toList();
        Map<String, SqnrMeter> meters = new LinkedHashMap<>();
        variables.forEach(v -> meters.put(v, new SqnrMeter()));
        try (DequantizedGraph view = batches.isEmpty() ? null : DequantizedGraph.of(quantized)) {
            for (INDArray[] batch : batches) { // batch by batch: the values of one batch held at a time
                try (StagedRun reference = StagedRun.reading(fp32, variables, List.<INDArray[]>of(batch), variables);
                        StagedRun actual = StagedRun.reading(view.graph(), variables, List.<INDArray[]>of(batch),
                                variables)) {
                    for (String v : variables) {
                        meters.get(v).add(reference.value(v, 0), actual.value(v, 0));
                        reference.done(v);
                        actual.done(v);
                    }
                }
            }
        }
        List<LayerSqnr> result = new ArrayList<>();
        for (ModelGraph.LayerOutput layer : fp32.layerOutputs()) {
            double db = batches.isEmpty() ? Double.NaN : meters.get(layer.variable()).sqnrDb();
            result.add(new LayerSqnr(layer.layer(), layer.type(), layer.variable(), db));
        }
        return result;
    }
}
