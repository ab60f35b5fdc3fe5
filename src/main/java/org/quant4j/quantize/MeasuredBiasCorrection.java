package org.quant4j.quantize;

import java.util.List;
import java.util.Map;
import org.apache.commons.math3.util.MathArrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.BiasCorrection;
import org.quant4j.graph.DequantizedGraph;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.StagedRun;
import org.quant4j.nd4j.DoubleScratch;
import org.quant4j.nd4j.NativeArrays;

/** Bias correction measured on the calibration's held batches (empirical bias correction, Nagel et al. 2019). */
final class MeasuredBiasCorrection {

    private MeasuredBiasCorrection() {
    }

    /**
     * Bias correction by measurement, op after op in graph order: the mean error {@code E[y~ - y]} of each output
     * channel of the op in the fake-quant graph (every op before it already corrected) against the fp32 graph, on the
     * calibration's held batches, is subtracted from the op's bias. It counts what the analytic correction of Nagel et
     * al. 2019 ({@code (W~ - W) E[x]}) leaves out: the input's quantization ({@code W~ E[x~ - x]}: clipping, and
     * rounding of a skewed distribution, shift means too), the borders of padded convolutions, where a kernel tap
     * reads zeros instead of the mean (a 3x3 kernel on a 4x4 map reads padding at 12 of 16 positions), and the shifts
     * carried in from the quantized layers before.
     *
     * <p>The ops are measured in graph order, as if the quantized graph were run from its inputs up to each op; a
     * {@link StagedRun} holds the activations before the next op for every held batch instead, so the whole
     * correction costs about one run of the graph per held batch (not one per op and batch).
     */
    static void apply(ObservedNetwork calibration, List<QuantizableOp> ops, ModelGraph quantized) {
        ModelGraph fp32 = calibration.fp32Graph();
        List<INDArray[]> batches = calibration.heldBatches();
        // A plain matrix product has no bias: nothing to measure.
        List<QuantizableOp> corrected = ops.stream().filter(op -> !op.type().equals("matmul")).toList();
        if (corrected.isEmpty()) {
            return;
        }
        Map<String, double[]> references = fp32ChannelSums(fp32, corrected, batches);
        Map<String, QuantizableOp> byOutput = new java.util.LinkedHashMap<>();
        for (QuantizableOp op : corrected) {
            BiasCorrection.ensureBias(quantized.graph(), op, references.get(op.output()).length);
            byOutput.put(op.output(), op);
        }
        // Op after op in graph order, each measured with the ops before it corrected: staged, so that each op's
        // output is computed from the held values of the activations before it, not by a run from the inputs.
        // Run with its weights dequantized once (DequantizedGraph), sharing the biases corrected below.
        try (DequantizedGraph view = DequantizedGraph.of(quantized);
                StagedRun staged = StagedRun.of(view.graph(),
                        corrected.stream().map(QuantizableOp::activation).toList(), batches,
                        List.copyOf(byOutput.keySet()))) {
            for (QuantizableOp op : byOutput.values()) {
                double[] sum = null;
                long perChannel = 0;
                for (int b = 0; b < batches.size(); b++) {
                    INDArray y = staged.value(op.output(), b);
                    double[] s = channelSums(y, op.activationAxis());
                    sum = sum == null ? s : MathArrays.ebeAdd(sum, s);
                    perChannel += y.length() / s.length;
                }
                staged.done(op.output());
                double[] reference = references.get(op.output());
                double[] shift = new double[sum.length];
                for (int c = 0; c < shift.length; c++) {
                    shift[c] = (sum[c] - reference[c]) / perChannel;
                }
                BiasCorrection.apply(quantized.graph(), op, shift);
            }
        }
    }

    /**
     * The per-channel sums of every op's fp32 output over {@code batches} (they do not change while the biases of
     * the quantized graph are corrected), by output variable: one run per batch, each output summed and freed as
     * soon as it is computed.
     */
    private static Map<String, double[]> fp32ChannelSums(ModelGraph fp32, List<QuantizableOp> ops,
            List<INDArray[]> batches) {
        Map<String, Integer> axes = new java.util.HashMap<>();
        ops.forEach(op -> axes.put(op.output(), op.activationAxis()));
        Map<String, double[]> sums = new java.util.HashMap<>();
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> feed = InputFeed.of(fp32.inputs(), batches.get(b),
                    "calibration batch " + b + ": features");
            GraphExecution.stream(fp32.graph(), feed, axes.keySet(),
                    (name, y) -> sums.merge(name, channelSums(y, axes.get(name)), MathArrays::ebeAdd));
        }
        return sums;
    }

    /** {@code y} summed over every axis but {@code axis}, in double, block by block (NativeArrays.channelBlocks). */
    private static double[] channelSums(INDArray y, int axis) {
        double[] sums = null;
        try (DoubleScratch scratch = new DoubleScratch(1)) {
            for (INDArray block : NativeArrays.channelBlocks(y, axis)) {
                double[] s = scratch.copy(0, block).sum(0, 2).toDoubleVector();
                sums = sums == null ? s : MathArrays.ebeAdd(sums, s);
            }
        }
        return sums;
    }
}
