package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.Granularity;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.RangeMethod;
import org.quant4j.ZeroPoints;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.TensorObserver;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.graph.KernelTaps;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;
import org.quant4j.graph.WeightOnly;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.nd4j.NativeArrays;
import org.quant4j.range.ClipRange;
import org.quant4j.range.QuantGrid;
import org.quant4j.range.RangeSolver;

/**
 * Range setting: the clip range of every channel of every activation point and weight, solved from the calibration's
 * statistics by the options' range methods, and each activation's scales folded into the weights that read it.
 */
public final class RangeSetting {

    private RangeSetting() {
    }

    /**
     * The ranges of every activation point and weight of {@code ops} from the statistics of {@code calibration}:
     * activations first (their scales fold into the weights), then each weight per output channel or per tensor.
     * With {@link Granularity#PER_POINT}, each point with several channels gets per-channel and per-tensor
     * candidates (each with its consumers' weights solved for it), and {@link PointChoice#choose} keeps the better;
     * with {@link ZeroPoints#PER_POINT}, a point holding negative values gets each candidate also with zero points.
     */
    static List<TensorQuantization> solveRanges(ObservedNetwork calibration, List<QuantizableOp> ops,
            QuantizationOptions options) {
        ModelGraph fp32 = calibration.fp32Graph();
        boolean perChannel = options.activationGranularity() != Granularity.PER_TENSOR;
        boolean choose = options.activationGranularity() == Granularity.PER_POINT;
        Map<String, TensorQuantization> activations = new LinkedHashMap<>();
        List<PointChoice.Choice> choices = new ArrayList<>();
        RangeSolver activationSolver = options.activationRangeMethod().solver();
        for (QuantizableOp op : ops) {
            String tensor = calibration.point(op).tensor();
            if (!activations.containsKey(tensor)) {
                List<String> readers = new ArrayList<>(fp32.graph().getVariables().get(tensor).getInputsForOp());
                ChannelStatistics[] channels = calibration.statistics(tensor, perChannel);
                List<TensorQuantization> candidates = new ArrayList<>();
                for (boolean zeroPoints : zeroPointCandidates(channels, options.activationZeroPoints())) {
                    TensorQuantization solved = solveActivation(tensor, calibration.rank(tensor), channels,
                            perChannel ? calibration.axis(tensor) : -1, activationSolver, options.activationBits(),
                            zeroPoints, readers);
                    candidates.add(solved);
                    if (choose && solved.scales().length > 1) {
                        candidates.add(solveActivation(tensor, calibration.rank(tensor),
                                calibration.statistics(tensor, false), -1, activationSolver, options.activationBits(),
                                zeroPoints, readers));
                    }
                }
                if (candidates.size() > 1) {
                    List<QuantizableOp> consumers = ops.stream()
                            .filter(o -> calibration.point(o).tensor().equals(tensor)).toList();
                    choices.add(new PointChoice.Choice(tensor, candidates.stream()
                            .map(c -> candidate(fp32, consumers, c, options)).toList()));
                }
                activations.put(tensor, candidates.get(0));
            }
        }
        Map<String, TensorQuantization> weights = new LinkedHashMap<>(); // by weight; solved early by a choice
        List<ConsumerReplay.Trial> chosen = org.quant4j.QuantizationPhases.timed(
                org.quant4j.QuantizationListener.Phase.POINT_CHOICE,
                () -> PointChoice.choose(calibration, choices, options.biasCorrection()));
        for (ConsumerReplay.Trial best : chosen) {
            activations.put(best.activation().tensor(), best.activation());
            weights.putAll(best.weights());
        }
        List<TensorQuantization> quantizations = new ArrayList<>(activations.values());
        RangeSolver weightSolver = options.weightRangeMethod().solver();
        for (QuantizableOp op : ops) {
            TensorQuantization input = activations.get(calibration.point(op).tensor());
            quantizations.add(weights.computeIfAbsent(op.weight(), w -> solveWeight(fp32, op, input,
                    weightAxis(op, options), weightSolver, options.weightBits())));
        }
        for (WeightOnly shared : QuantizableOps.weightOnly(fp32.graph())) {
            if (!keptFp32(shared, options)) {
                // An embedding table's rows (thousands of words) take min/max: the standard per-row choice, and a
                // fitted range per row would cost a solver run for each.
                quantizations.add(solveWeightOnly(fp32, shared, options, shared.type().equals("gather")
                        ? RangeMethod.MINMAX.solver() : weightSolver));
            }
        }
        return quantizations;
    }

    /**
     * Dynamic quantization ({@link QuantizationPipeline#quantizeDynamic}): every dense product's weight ({@code
     * xw_plus_b}, {@code matmul}) and every shared recurrent weight quantized on its own (per output channel with the
     * default options, nothing folded in), their readers' data inputs then quantized per call from their own values
     * ({@code graph.DynamicInputs}); embedding tables stored as int8 as in static quantization; convolutions stay
     * fp32, as in PyTorch's {@code quantize_dynamic}. No activation point is solved: there are no statistics.
     */
    static List<TensorQuantization> solveDynamic(ModelGraph fp32, List<QuantizableOp> ops,
            QuantizationOptions options) {
        RangeSolver solver = options.weightRangeMethod().solver();
        List<TensorQuantization> quantizations = new ArrayList<>();
        for (QuantizableOp op : ops) {
            if (op.type().equals("xw_plus_b") || op.type().equals("matmul")) {
                quantizations.add(solveWeightOnly(fp32,
                        new WeightOnly(op.weight(), List.of(op.op()), op.type(), op.weightAxis()), options, solver));
            }
        }
        for (WeightOnly shared : QuantizableOps.weightOnly(fp32.graph())) {
            if (!keptFp32(shared, options) && List.of("xw_plus_b", "matmul", "gather").contains(shared.type())) {
                quantizations.add(solveWeightOnly(fp32, shared, options, shared.type().equals("gather")
                        ? RangeMethod.MINMAX.solver() : solver));
            }
        }
        return quantizations;
    }

    /**
     * A weight quantized on its own ({@link WeightOnly}): per channel (or per tensor), nothing folded in, its
     * readers reading the dequantized values.
     */
    private static TensorQuantization solveWeightOnly(ModelGraph fp32, WeightOnly shared,
            QuantizationOptions options, RangeSolver solver) {
        INDArray w = fp32.graph().getVariable(shared.weight()).getArr();
        int axis = options.weightGranularity() == Granularity.PER_CHANNEL ? shared.axis() : -1;
        TensorQuantization unsolved = new TensorQuantization(shared.weight(), TensorQuantization.Kind.WEIGHT,
                w.rank(), axis, new QuantGrid(options.weightBits(), true), new float[] {1f}, new double[] {0},
                new double[] {0}, shared.readers(), null, -1, new float[0]);
        Solved solved = solve(weightStatistics(fp32, unsolved), solver, unsolved.grid());
        return new TensorQuantization(shared.weight(), TensorQuantization.Kind.WEIGHT, w.rank(), axis,
                unsolved.grid(), solved.scales, solved.lo, solved.hi, shared.readers(), null, -1, new float[0]);
    }

    /** Whether the layer of a weight-only weight ({@code <layer>/...}) is kept in fp32 by the options. */
    private static boolean keptFp32(WeightOnly shared, QuantizationOptions options) {
        int slash = shared.weight().indexOf('/');
        String layer = slash < 0 ? shared.weight() : shared.weight().substring(0, slash);
        return options.keepFp32().contains(layer) || options.keepFp32().contains(shared.weight());
    }

    static ConsumerReplay.Trial candidate(ModelGraph fp32, List<QuantizableOp> consumers,
            TensorQuantization activation, QuantizationOptions options) {
        RangeSolver weightSolver = options.weightRangeMethod().solver();
        Map<String, TensorQuantization> weights = new LinkedHashMap<>();
        for (QuantizableOp op : consumers) {
            weights.put(op.weight(), solveWeight(fp32, op, activation, weightAxis(op, options), weightSolver,
                    options.weightBits()));
        }
        return new ConsumerReplay.Trial(activation.tensor(), consumers, activation, weights);
    }

    /** The weight's output-channel axis, or -1 for one range per weight tensor. */
    private static int weightAxis(QuantizableOp op, QuantizationOptions options) {
        return options.weightGranularity() == Granularity.PER_CHANNEL ? op.weightAxis() : -1;
    }

    /**
     * Whether a point is quantized without zero points ({@code false}), with them ({@code true}), or both tried, in
     * that order: zero points only for a point holding negative values (a one-sided point's unsigned grid is the
     * asymmetric grid with every zero point 0 already).
     */
    private static List<Boolean> zeroPointCandidates(ChannelStatistics[] channels, ZeroPoints setting) {
        if (setting == ZeroPoints.OFF || !anyNegative(channels)) {
            return List.of(false);
        }
        return setting == ZeroPoints.ON ? List.of(true) : List.of(false, true);
    }

    private static boolean anyNegative(ChannelStatistics[] channels) {
        for (ChannelStatistics c : channels) {
            if (c.min() < 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * An activation's grid is unsigned when every observed value of every channel is non-negative (e.g. after
     * ReLU), signed otherwise; with {@code zeroPoints}, a point holding negative values goes onto the asymmetric
     * grid instead (below).
     *
     * <p>The asymmetric grid's range: the range method's clip range on the signed grid (the methods solve a
     * two-sided channel symmetrically, {@code [-a, a]}), intersected with the channel's observed {@code [min, max]}
     * (widened to hold 0): the method still clips the long tail, and the short side, which the symmetric grid
     * covers to {@code -a} or {@code a} whatever it holds, is cut to what the channel reaches. Then
     * {@link QuantGrid#affine} spans it with all {@code 2^M} levels. The method's clip was chosen for the signed
     * grid's coarser step, so it is, if anything, generous.
     */
    private static TensorQuantization solveActivation(String tensor, int rank, ChannelStatistics[] channels,
            int axis, RangeSolver solver, int bits, boolean zeroPoints, List<String> consumers) {
        boolean signed = anyNegative(channels);
        QuantGrid grid = new QuantGrid(bits, signed);
        Solved solved = solve(channels, solver, grid);
        if (!zeroPoints || !signed) {
            return TensorQuantization.activation(tensor, rank, axis, grid, solved.scales, solved.lo, solved.hi,
                    consumers);
        }
        QuantGrid asymmetric = new QuantGrid(bits, false);
        int n = channels.length;
        float[] scales = new float[n];
        int[] zero = new int[n];
        double[] lo = new double[n];
        double[] hi = new double[n];
        for (int c = 0; c < n; c++) {
            ClipRange range = ClipRange.covering(Math.max(solved.lo[c], channels[c].min()),
                    Math.min(solved.hi[c], channels[c].max()));
            QuantGrid.Affine affine = asymmetric.affine(range);
            scales[c] = affine.scale();
            zero[c] = affine.zeroPoint();
            lo[c] = range.lo();
            hi[c] = range.hi();
        }
        return TensorQuantization.asymmetric(tensor, rank, axis, asymmetric, scales, zero, lo, hi, consumers);
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
        NativeArrays.release(folded, variable.getArr()); // weight-sized: freed now, not by the GC
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
}
