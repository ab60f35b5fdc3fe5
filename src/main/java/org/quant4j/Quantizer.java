package org.quant4j;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.commons.math3.util.MathArrays;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.calib.TensorObserver;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.BatchNormFolding;
import org.quant4j.graph.BiasCorrection;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.KernelTaps;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;
import org.quant4j.graph.SameDiffGraphs;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.ClipRange;
import org.quant4j.range.MseSolver;
import org.quant4j.range.QuantGrid;
import org.quant4j.range.RangeMethods;
import org.quant4j.range.RangeSolver;
import org.quant4j.report.LayerSqnr;
import org.quant4j.report.QuantizationReport;
import org.quant4j.report.SqnrMeter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one call: {@code QuantizedModel q = Quantizer.quantize(model, calibrationData)}.
 *
 * <p>The pipeline: convert the network to SameDiff (DL4J networks) or copy it (SameDiff graphs); find the ops that
 * run quantized (convolutions, dense layers); observe their activation inputs on the calibration data, per
 * channel, in one streaming pass; solve a clip range per channel with the chosen range method; quantize the
 * weights per output channel; rewrite a copy of the graph with fake-quant ops; measure every layer's SQNR
 * against fp32. The user's model is only read, never changed.
 */
public final class Quantizer {

    private static final Logger LOG = LoggerFactory.getLogger(Quantizer.class);

    private Quantizer() {
    }

    public static QuantizedModel quantize(MultiLayerNetwork net, DataSetIterator calibration) {
        return quantize(net, calibration, QuantizationOptions.defaults());
    }

    /**
     * Quantizes {@code net}. With {@link QuantizationOptions#keepUnsupportedLayersFp32} a network with layers the
     * converter does not support is quantized in parts around them ({@link PartwiseQuantizer}); without it, such a
     * network is refused with an error naming the layer's index, name and type.
     */
    public static QuantizedModel quantize(MultiLayerNetwork net, DataSetIterator calibration,
            QuantizationOptions options) {
        if (options.keepUnsupportedLayersFp32() && PartwiseQuantizer.hasUnsupportedLayers(net)) {
            return PartwiseQuantizer.quantize(net, FeatureBatches.of(calibration), options);
        }
        return quantize(Dl4jConverter.convert(net), FeatureBatches.of(calibration), options);
    }

    public static QuantizedModel quantize(ComputationGraph net, DataSetIterator calibration) {
        return quantize(net, calibration, QuantizationOptions.defaults());
    }

    public static QuantizedModel quantize(ComputationGraph net, DataSetIterator calibration,
            QuantizationOptions options) {
        return quantize(convert(net, options), FeatureBatches.of(calibration), options);
    }

    public static QuantizedModel quantize(ComputationGraph net, MultiDataSetIterator calibration,
            QuantizationOptions options) {
        return quantize(convert(net, options), FeatureBatches.of(calibration), options);
    }

    /** The graph of {@code net}; an unsupported layer's error says that keeping it in fp32 is for MultiLayerNetworks. */
    private static ModelGraph convert(ComputationGraph net, QuantizationOptions options) {
        try {
            return Dl4jConverter.convert(net);
        } catch (org.quant4j.convert.UnsupportedLayerException e) {
            if (!options.keepUnsupportedLayersFp32()) {
                throw e;
            }
            throw new org.quant4j.convert.UnsupportedLayerException(e.getMessage()
                    + "; keepUnsupportedLayersFp32 keeps unsupported layers of a MultiLayerNetwork only, not yet of a"
                    + " ComputationGraph");
        }
    }

    public static QuantizedModel quantize(SameDiff graph, DataSetIterator calibration) {
        return quantize(graph, calibration, QuantizationOptions.defaults());
    }

    public static QuantizedModel quantize(SameDiff graph, DataSetIterator calibration, QuantizationOptions options) {
        return quantize(SameDiffGraphs.of(graph), FeatureBatches.of(calibration), options);
    }

    public static QuantizedModel quantize(SameDiff graph, MultiDataSetIterator calibration,
            QuantizationOptions options) {
        return quantize(SameDiffGraphs.of(graph), FeatureBatches.of(calibration), options);
    }

    /**
     * Calibrates once for many quantizations: observes {@code net} on at most {@code options.calibrationBatches()}
     * batches of {@code calibration}; {@link Calibration#quantize} then quantizes with any range method, bits and
     * granularity without reading the data again.
     */
    public static Calibration calibrate(MultiLayerNetwork net, DataSetIterator calibration,
            QuantizationOptions options) {
        return calibrate(Dl4jConverter.convert(net), FeatureBatches.of(calibration), options);
    }

    /** As {@link #calibrate(MultiLayerNetwork, DataSetIterator, QuantizationOptions)}, for a ComputationGraph. */
    public static Calibration calibrate(ComputationGraph net, DataSetIterator calibration,
            QuantizationOptions options) {
        return calibrate(Dl4jConverter.convert(net), FeatureBatches.of(calibration), options);
    }

    /** The pipeline on a graph quant4j owns (it is changed: BatchNorms are folded into convolutions). */
    static QuantizedModel quantize(ModelGraph converted, Iterator<INDArray[]> batches, QuantizationOptions options) {
        return calibrate(converted, batches, options).quantize(options);
    }

    /** Calibration of a converted graph (public for the report, which replays the calibration). */
    public static Calibration calibrate(ModelGraph converted, Iterator<INDArray[]> batches, QuantizationOptions options) {
        requireFiniteParameters(converted.graph());
        ModelGraph fp32 = BatchNormFolding.fold(converted);
        List<QuantizableOp> all = QuantizableOps.find(fp32.graph());
        return Calibration.observe(fp32, all, batches, options.calibrationBatches(), options.reportBatches(),
                options.sequentialPasses() > 0);
    }

    /** Quantizes with the statistics of {@code calibration}: solve ranges, quantize weights, rewrite, measure. */
    static QuantizedModel quantize(Calibration calibration, QuantizationOptions options) {
        ModelGraph fp32 = calibration.fp32Graph();
        List<QuantizableOp> all = calibration.ops();
        List<QuantizableOp> ops = new ArrayList<>();
        List<String> kept = new ArrayList<>();
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

        long start = System.nanoTime();
        Quantized result = quantizeGraph(calibration, ops, options);
        int held = calibration.heldBatches().stream().mapToInt(b -> (int) b[0].size(0)).sum();
        if (options.activationGranularity() == Granularity.PER_POINT && OutputDivergence.canReject(held)
                && result.quantizations().stream().anyMatch(t -> t.kind() == TensorQuantization.Kind.ACTIVATION
                        && t.scales().length == 1 && calibration.statistics(t.tensor(), true).length > 1)) {
            result = checkedAgainstPerChannel(calibration, ops, options, result);
        }
        List<TensorQuantization> quantizations = result.quantizations();
        ModelGraph quantized = result.graph();
        long solveMillis = (System.nanoTime() - start) / 1_000_000;

        List<LayerSqnr> sqnr = measureSqnr(fp32, quantized, calibration.reportBatches());
        String granularity = describe(options.activationGranularity(), quantizations) + " activations, "
                + options.weightGranularity().label() + " weights";
        QuantizationReport report = new QuantizationReport(options.activationRangeMethod(), options.weightRangeMethod(),
                options.activationBits(), options.weightBits(), granularity, calibration.batches(),
                calibration.samples(), ops.stream().map(QuantizableOp::output).toList(), kept,
                calibration.millis(), solveMillis, sqnr);
        return new QuantizedModel(quantized, options, quantizations, report);
    }

    /** A quantization of every point and weight, and the fake-quant graph made with it. */
    private record Quantized(List<TensorQuantization> quantizations, ModelGraph graph) {
    }

    /** Solves the ranges and rewrites the graph (again on the quantized network's values, per sequential pass). */
    private static Quantized quantizeGraph(Calibration calibration, List<QuantizableOp> ops,
            QuantizationOptions options) {
        List<TensorQuantization> quantizations = solveRanges(calibration, ops, options);
        ModelGraph quantized = rewrite(calibration, ops, quantizations, options);
        for (int pass = 0; pass < options.sequentialPasses(); pass++) {
            Calibration observed = calibration.observedOn(quantized);
            quantizations = solveRanges(observed, ops, options);
            quantized = rewrite(observed, ops, quantizations, options);
        }
        return new Quantized(quantizations, quantized);
    }

    /**
     * The per-point quantization {@code perPoint} checked as a whole against per-channel scales at every point. Each
     * point's choice is measured with the rest of the network in fp32 ({@link #choose}); errors that are small alone
     * can add up, or be amplified by the layers after. So the network with the choices made is compared with the
     * network with per-channel scales everywhere, example by example, by how far their predictions lie from fp32's on
     * the held calibration batches ({@link OutputDivergence}: the Kullback-Leibler divergence of a softmax output).
     * Per-channel scales replace the choices only when they are closer beyond chance ({@link
     * OutputDivergence#significantlyCloser}: a one-sided paired sign-flip test of the summed divergence at 5 %); otherwise the choices
     * stand.
     *
     * <p>Why (docs/ACCURACY.md): at W4A4 the choices alone did worse than per-channel scales everywhere on the
     * ResNet-style CNN, through its stem; at W4A8 on the MobileNet-style CNN better, and the divergence tells these
     * cases apart on the calibration images. The test is what keeps the check from deciding on noise: compared on
     * the same few images their ranges were fitted to, the finer quantization can look closer and generalize worse
     * (the zoo's VGG19, calibrated on 8 photos and checked on 4 of them without the test, lost 4.8 dB on other
     * photos). With fewer than five held examples the test cannot reject, so the choices stand and the check is not
     * made.
     */
    private static Quantized checkedAgainstPerChannel(Calibration calibration, List<QuantizableOp> ops,
            QuantizationOptions options, Quantized perPoint) {
        Quantized perChannel = quantizeGraph(calibration, ops,
                options.withActivationGranularity(Granularity.PER_CHANNEL));
        return perChannelReplaces(calibration.fp32Graph(), perChannel.graph(), perPoint.graph(),
                calibration.heldBatches()) ? perChannel : perPoint;
    }

    /**
     * The decision of {@link #checkedAgainstPerChannel}: whether the network {@code perChannel} is closer to {@code
     * fp32} than {@code choices} beyond chance on the examples of {@code held} ({@link
     * OutputDivergence#significantlyCloser}). Logged at info level with the divergences and the p-value.
     */
    static boolean perChannelReplaces(ModelGraph fp32, ModelGraph perChannel, ModelGraph choices,
            List<INDArray[]> held) {
        double[][] divergences = OutputDivergence.perExample(fp32, List.of(perChannel, choices), held);
        double[] channels = divergences[0];
        double[] chosen = divergences[1];
        double p = OutputDivergence.pCloser(channels, chosen);
        boolean replace = p < OutputDivergence.SIGNIFICANCE;
        LOG.info("per-point check on {} held examples: divergence of the choices {}, of per-channel scales "
                + "everywhere {} (one-sided p {}): {}", channels.length,
                String.format("%.4g", java.util.Arrays.stream(chosen).sum()),
                String.format("%.4g", java.util.Arrays.stream(channels).sum()), String.format("%.3g", p),
                replace ? "per-channel scales replace the choices" : "the choices stand");
        return replace;
    }

    /**
     * The ranges of every activation point and weight of {@code ops} from the statistics of {@code calibration}:
     * activations first (their scales fold into the weights), then each weight per output channel or per tensor.
     * With {@link Granularity#PER_POINT}, each point with several channels gets per-channel and per-tensor
     * candidates (each with its consumers' weights solved for it), and {@link #choose} keeps the better.
     */
    private static List<TensorQuantization> solveRanges(Calibration calibration, List<QuantizableOp> ops,
            QuantizationOptions options) {
        ModelGraph fp32 = calibration.fp32Graph();
        boolean perChannel = options.activationGranularity() != Granularity.PER_TENSOR;
        boolean choose = options.activationGranularity() == Granularity.PER_POINT;
        Map<String, TensorQuantization> activations = new LinkedHashMap<>();
        List<Choice> choices = new ArrayList<>();
        RangeSolver activationSolver = RangeMethods.byName(options.activationRangeMethod());
        for (QuantizableOp op : ops) {
            String tensor = calibration.point(op).tensor();
            if (!activations.containsKey(tensor)) {
                List<String> readers = new ArrayList<>(fp32.graph().getVariables().get(tensor).getInputsForOp());
                TensorQuantization chosen = solveActivation(tensor, calibration.rank(tensor),
                        calibration.statistics(tensor, perChannel), perChannel ? calibration.axis(tensor) : -1,
                        activationSolver, options.activationBits(), readers);
                if (choose && chosen.scales().length > 1) {
                    TensorQuantization perTensor = solveActivation(tensor, calibration.rank(tensor),
                            calibration.statistics(tensor, false), -1, activationSolver, options.activationBits(),
                            readers);
                    List<QuantizableOp> consumers = ops.stream()
                            .filter(o -> calibration.point(o).tensor().equals(tensor)).toList();
                    choices.add(new Choice(tensor, List.of(candidate(fp32, consumers, chosen, options),
                            candidate(fp32, consumers, perTensor, options))));
                }
                activations.put(tensor, chosen);
            }
        }
        Map<String, TensorQuantization> weights = new LinkedHashMap<>(); // by weight; solved early by a choice
        for (ConsumerReplay.Trial best : choose(calibration, choices, options.biasCorrection())) {
            activations.put(best.activation().tensor(), best.activation());
            weights.putAll(best.weights());
        }
        List<TensorQuantization> quantizations = new ArrayList<>(activations.values());
        RangeSolver weightSolver = RangeMethods.byName(options.weightRangeMethod());
        Map<String, QuantizableOp> weightOwners = new LinkedHashMap<>();
        for (QuantizableOp op : ops) {
            QuantizableOp previous = weightOwners.putIfAbsent(op.weight(), op);
            if (previous != null) {
                throw new QuantizationException("weight '" + op.weight() + "' is shared by ops '" + previous.op()
                        + "' and '" + op.op() + "'; shared weights are not supported yet");
            }
        }
        for (QuantizableOp op : ops) {
            TensorQuantization input = activations.get(calibration.point(op).tensor());
            quantizations.add(weights.computeIfAbsent(op.weight(), w -> solveWeight(fp32, op, input,
                    weightAxis(op, options), weightSolver, options.weightBits())));
        }
        return quantizations;
    }

    /** The candidates of one activation point: each its quantization and its consumers' weights solved for it. */
    private record Choice(String tensor, List<ConsumerReplay.Trial> candidates) {
    }

    private static ConsumerReplay.Trial candidate(ModelGraph fp32, List<QuantizableOp> consumers,
            TensorQuantization activation, QuantizationOptions options) {
        RangeSolver weightSolver = RangeMethods.byName(options.weightRangeMethod());
        Map<String, TensorQuantization> weights = new LinkedHashMap<>();
        for (QuantizableOp op : consumers) {
            weights.put(op.weight(), solveWeight(fp32, op, activation, weightAxis(op, options), weightSolver,
                    options.weightBits()));
        }
        return new ConsumerReplay.Trial(activation.tensor(), consumers, activation, weights);
    }

    /**
     * The best candidate of each choice, by the measured error of its consumers ({@link ConsumerReplay}: only this
     * point and its consumers' weights quantized, on the calibration's held batches): the consumers' noise-to-signal
     * ratio {@code sum over consumers of sum (y~ - y)^2 / sum y^2}, with y a consumer op's fp32 output and y~ its
     * output from the candidate's fake-quantized values and dequantized weights. With bias correction the error is
     * counted as the correction leaves it: each output channel's mean error removed. Ties go to the first candidate.
     *
     * <p>Measured rather than modelled: a first-order model ({@code (w~ - w)^2 E[x_c^2] + w^2 E[(x~_c - x_c)^2]} per
     * weight) leaves out the correlations between channels, among them the coherent error that a non-zero input mean
     * makes of the weights' rounding, and chose per-tensor for both hidden points of the MLP at W4A4 where per-channel
     * gives the network 0.2 points more top-1 (docs/ACCURACY.md).
     */
    private static List<ConsumerReplay.Trial> choose(Calibration calibration, List<Choice> choices,
            boolean biasCorrected) {
        Map<ConsumerReplay.Trial, Map<QuantizableOp, OutputError>> errors = new java.util.IdentityHashMap<>();
        List<ConsumerReplay.Trial> trials = new ArrayList<>();
        for (Choice choice : choices) {
            for (ConsumerReplay.Trial candidate : choice.candidates()) {
                Map<QuantizableOp, OutputError> perConsumer = new LinkedHashMap<>();
                candidate.consumers().forEach(op -> perConsumer.put(op, new OutputError(op.activationAxis())));
                errors.put(candidate, perConsumer);
                trials.add(candidate);
            }
        }
        ConsumerReplay.run(calibration, trials, (trial, reference, quantized) -> errors.get(trial)
                .forEach((op, error) -> error.add(reference.get(op.output()), quantized.get(op.output()))));
        List<ConsumerReplay.Trial> best = new ArrayList<>();
        for (Choice choice : choices) {
            ConsumerReplay.Trial chosen = null;
            double least = Double.POSITIVE_INFINITY;
            for (ConsumerReplay.Trial candidate : choice.candidates()) {
                double error = errors.get(candidate).values().stream()
                        .mapToDouble(e -> e.noiseToSignal(biasCorrected)).sum();
                if (chosen == null || error < least) {
                    chosen = candidate;
                    least = error;
                }
            }
            best.add(chosen);
        }
        return best;
    }

    /**
     * The error of an op's output against its reference, per output channel (along {@code axis}): sums of the error,
     * of its square, and of the reference's square, over every batch added.
     */
    private static final class OutputError {
        private final int axis;
        private double[] sum;
        private double[] squares;
        private double signal;
        private long perChannel;

        OutputError(int axis) {
            this.axis = axis;
        }

        void add(INDArray reference, INDArray quantized) {
            INDArray r = reference.castTo(DataType.DOUBLE);
            INDArray e = quantized.castTo(DataType.DOUBLE).sub(r);
            int[] others = java.util.stream.IntStream.range(0, e.rank()).filter(d -> d != axis).toArray();
            double[] s = e.sum(others).toDoubleVector();
            double[] q = e.mul(e).sum(others).toDoubleVector();
            if (sum == null) {
                sum = new double[s.length];
                squares = new double[s.length];
            }
            for (int c = 0; c < s.length; c++) {
                sum[c] += s[c];
                squares[c] += q[c];
            }
            signal += r.mul(r).sumNumber().doubleValue();
            perChannel += e.length() / s.length;
        }

        /**
         * {@code sum e^2 / sum y^2}; without the mean, each channel's {@code sum e^2 - (sum e)^2 / n}: what is left
         * once a correction of the channel's bias removes its mean error.
         */
        double noiseToSignal(boolean withoutMean) {
            double noise = 0;
            for (int c = 0; c < sum.length; c++) {
                noise += withoutMean ? squares[c] - sum[c] * sum[c] / perChannel : squares[c];
            }
            return noise <= 0 ? 0 : noise / signal;
        }
    }

    /**
     * Bias correction by measurement, op after op in graph order: the mean error {@code E[y~ - y]} of each output
     * channel of the op in the fake-quant graph (every op before it already corrected) against the fp32 graph, on the
     * calibration's held batches, is subtracted from the op's bias. It counts what the analytic correction of Nagel et
     * al. 2019 ({@code (W~ - W) E[x]}) leaves out: the input's quantization ({@code W~ E[x~ - x]}: clipping, and
     * rounding of a skewed distribution, shift means too), the borders of padded convolutions, where a kernel tap
     * reads zeros instead of the mean (a 3x3 kernel on a 4x4 map reads padding at 12 of 16 positions), and the shifts
     * carried in from the quantized layers before.
     */
    private static void correctBiases(Calibration calibration, List<QuantizableOp> ops, ModelGraph quantized) {
        ModelGraph fp32 = calibration.fp32Graph();
        List<INDArray[]> batches = calibration.heldBatches();
        Map<QuantizableOp, double[]> references = fp32ChannelSums(fp32, ops, batches);
        for (QuantizableOp op : ops) {
            double[] sum = null;
            long perChannel = 0;
            for (int b = 0; b < batches.size(); b++) {
                Map<String, INDArray> feed = QuantizedModel.feed(fp32.inputs(), batches.get(b),
                        "calibration batch " + b + ": features");
                INDArray y = GraphExecution.output(quantized.graph(), feed, List.of(op.output())).get(op.output());
                double[] s = channelSums(y, op.activationAxis());
                sum = sum == null ? s : MathArrays.ebeAdd(sum, s);
                perChannel += y.length() / s.length;
            }
            double[] reference = references.get(op);
            double[] shift = new double[sum.length];
            for (int c = 0; c < shift.length; c++) {
                shift[c] = (sum[c] - reference[c]) / perChannel;
            }
            BiasCorrection.apply(quantized.graph(), op, shift);
        }
    }

    /** Ops whose fp32 outputs one pass of {@link #fp32ChannelSums} holds at once: a bound on its memory. */
    private static final int OUTPUTS_PER_PASS = 16;

    /**
     * The per-channel sums of every op's fp32 output over {@code batches} (they do not change while the biases of
     * the quantized graph are corrected), {@link #OUTPUTS_PER_PASS} ops' outputs per pass.
     */
    private static Map<QuantizableOp, double[]> fp32ChannelSums(ModelGraph fp32, List<QuantizableOp> ops,
            List<INDArray[]> batches) {
        Map<QuantizableOp, double[]> sums = new java.util.IdentityHashMap<>();
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> feed = QuantizedModel.feed(fp32.inputs(), batches.get(b),
                    "calibration batch " + b + ": features");
            for (int from = 0; from < ops.size(); from += OUTPUTS_PER_PASS) {
                List<QuantizableOp> group = ops.subList(from, Math.min(ops.size(), from + OUTPUTS_PER_PASS));
                List<String> names = group.stream().map(QuantizableOp::output).distinct().toList();
                Map<String, INDArray> y = GraphExecution.output(fp32.graph(), feed, names);
                for (QuantizableOp op : group) {
                    double[] s = channelSums(y.get(op.output()), op.activationAxis());
                    sums.merge(op, s, MathArrays::ebeAdd);
                }
            }
        }
        return sums;
    }

    /** {@code y} summed over every axis but {@code axis}, in double. */
    private static double[] channelSums(INDArray y, int axis) {
        int[] others = java.util.stream.IntStream.range(0, y.rank()).filter(d -> d != axis).toArray();
        return y.castTo(DataType.DOUBLE).sum(others).toDoubleVector();
    }

    /** The weight's output-channel axis, or -1 for one range per weight tensor. */
    private static int weightAxis(QuantizableOp op, QuantizationOptions options) {
        return options.weightGranularity() == Granularity.PER_CHANNEL ? op.weightAxis() : -1;
    }

    /** A copy of the fp32 graph rewritten with fake-quant ops, then bias-corrected when asked. */
    private static ModelGraph rewrite(Calibration calibration, List<QuantizableOp> ops,
            List<TensorQuantization> quantizations, QuantizationOptions options) {
        ModelGraph fp32 = calibration.fp32Graph();
        ModelGraph quantized = fp32.copy();
        FakeQuantRewriter.rewrite(quantized.graph(), quantizations);
        if (options.biasCorrection()) {
            correctBiases(calibration, ops, quantized);
        }
        return quantized;
    }

    /**
     * Refuses a graph whose parameters (variables and constants) hold NaN or infinite values: their ranges and
     * every output would be meaningless.
     */
    private static void requireFiniteParameters(SameDiff sd) {
        for (org.nd4j.autodiff.samediff.SDVariable v : sd.variables()) {
            if (v.getVariableType() != org.nd4j.autodiff.samediff.VariableType.VARIABLE
                    && v.getVariableType() != org.nd4j.autodiff.samediff.VariableType.CONSTANT) {
                continue;
            }
            INDArray arr = v.getArr();
            if (arr == null || !arr.dataType().isFPType()) {
                continue;
            }
            String bad = nonFinite(arr);
            if (bad != null) {
                throw new QuantizationException("parameter '" + v.name() + "' " + java.util.Arrays.toString(arr.shape())
                        + " holds " + bad + "; the network's weights must be finite");
            }
        }
    }

    /** "3 NaN and 1 infinite value(s)", or null when every value is finite (or the array is not floating point). */
    static String nonFinite(INDArray arr) {
        if (arr == null || !arr.dataType().isFPType() || arr.isEmpty()) {
            return null;
        }
        long nan = org.nd4j.linalg.factory.Nd4j.getExecutioner().exec(
                new org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition(arr,
                        org.nd4j.linalg.indexing.conditions.Conditions.isNan())).getLong(0);
        long inf = org.nd4j.linalg.factory.Nd4j.getExecutioner().exec(
                new org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition(arr,
                        org.nd4j.linalg.indexing.conditions.Conditions.isInfinite())).getLong(0);
        return nan == 0 && inf == 0 ? null : nan + " NaN and " + inf + " infinite value(s)";
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

    /** DL4J-converted ops output {@code <layer>/<part>}; the layer is the part before the first slash. */
    private static String layerOf(String variable) {
        int slash = variable.indexOf('/');
        return slash < 0 ? variable : variable.substring(0, slash);
    }

    /**
     * An activation's grid is unsigned when every observed value of every channel is non-negative (e.g. after
     * ReLU), signed otherwise.
     */
    private static TensorQuantization solveActivation(String tensor, int rank, ChannelStatistics[] channels,
            int axis, RangeSolver solver, int bits, List<String> consumers) {
        boolean signed = false;
        for (ChannelStatistics c : channels) {
            signed |= c.min() < 0;
        }
        QuantGrid grid = new QuantGrid(bits, signed);
        Solved solved = solve(channels, solver, grid);
        return TensorQuantization.activation(tensor, rank, axis, grid, solved.scales, solved.lo, solved.hi,
                consumers);
    }

    /**
     * Weights: the input activation's scales folded in ({@code W' = W * s_x} per input channel, expanded when the
     * op reads a flattened tensor: feature f of a flattened [N, C, H, W] belongs to channel f / (H W)), then a
     * symmetric signed grid, one range per output channel (or per tensor), solved from {@link #weightStatistics}.
     */
    private static TensorQuantization solveWeight(ModelGraph fp32, QuantizableOp op, TensorQuantization input,
            int axis, RangeSolver solver, int bits) {
        INDArray w = fp32.graph().getVariable(op.weight()).getArr();
        long inputSize = w.size(op.weightInputAxis());
        int channels = input.scales().length;
        if (inputSize % channels != 0) {
            throw new QuantizationException("op '" + op.op() + "' reads " + inputSize + " input channels from '"
                    + input.tensor() + "', which has " + channels + " quantization channels");
        }
        long perChannel = inputSize / channels;
        float[] inputScales = new float[(int) inputSize];
        for (int i = 0; i < inputSize; i++) {
            inputScales[i] = input.scales()[(int) (i / perChannel)];
        }
        TensorQuantization folding = new TensorQuantization(op.weight(), TensorQuantization.Kind.WEIGHT, w.rank(),
                axis, new QuantGrid(bits, true), new float[] {1f}, new double[] {0}, new double[] {0}, List.of(op.op()),
                input.tensor(), op.weightInputAxis(), inputScales);
        Solved solved = solve(weightStatistics(fp32, folding), solver, folding.grid());
        return new TensorQuantization(op.weight(), TensorQuantization.Kind.WEIGHT, w.rank(), axis, folding.grid(),
                solved.scales, solved.lo, solved.hi, List.of(op.op()), input.tensor(), op.weightInputAxis(), inputScales);
    }

    /**
     * The statistics per channel ({@code t}'s axis) of the weight {@code t} of {@code fp32}, with {@code t}'s input
     * scales folded in: what its range is solved from. A weight that holds structural zeros (a dilated kernel spelled
     * out undilated, {@link ModelGraph#kernelTaps}) is observed on its taps only: the zeros between them are no part
     * of the trained weights, and would distort a range method that fits a distribution to them (they are exact on
     * any symmetric grid, whatever the range).
     */
    public static ChannelStatistics[] weightStatistics(ModelGraph fp32, TensorQuantization t) {
        var variable = fp32.graph().getVariable(t.tensor());
        if (variable == null || variable.getArr() == null) {
            throw new QuantizationException("the fp32 graph has no weight '" + t.tensor() + "'");
        }
        INDArray folded = FakeQuantRewriter.foldInputScales(variable.getArr(), t);
        KernelTaps taps = fp32.kernelTaps().get(t.tensor());
        TensorObserver observer = new TensorObserver(t.tensor(), t.axis());
        observer.observe(taps == null ? folded : taps.of(folded));
        org.quant4j.graph.NativeArrays.release(folded, variable.getArr()); // weight-sized: freed now, not by the GC
        return observer.channels();
    }

    private record Solved(float[] scales, double[] lo, double[] hi) {
    }

    private static Solved solve(ChannelStatistics[] channels, RangeSolver solver, QuantGrid grid) {
        int n = channels.length;
        float[] scales = new float[n];
        double[] lo = new double[n];
        double[] hi = new double[n];
        ClipRange[] ranges = solver.solveAll(channels, grid);
        for (int c = 0; c < n; c++) {
            ClipRange range = ranges[c];
            scales[c] = (float) grid.scale(range);
            lo[c] = range.lo();
            hi[c] = range.hi();
        }
        return new Solved(scales, lo, hi);
    }

    /** Per-layer SQNR of the quantized graph against fp32 on the given batches. */
    private static List<LayerSqnr> measureSqnr(ModelGraph fp32, ModelGraph quantized, List<INDArray[]> batches) {
        List<String> variables = fp32.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList();
        Map<String, SqnrMeter> meters = new LinkedHashMap<>();
        variables.forEach(v -> meters.put(v, new SqnrMeter()));
        for (INDArray[] features : batches) {
            Map<String, INDArray> feed = QuantizedModel.feed(fp32.inputs(), features, "features");
            Map<String, INDArray> reference = GraphExecution.output(fp32.graph(), feed, variables);
            Map<String, INDArray> actual = GraphExecution.output(quantized.graph(), feed, variables);
            for (String v : variables) {
                meters.get(v).add(reference.get(v), actual.get(v));
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
