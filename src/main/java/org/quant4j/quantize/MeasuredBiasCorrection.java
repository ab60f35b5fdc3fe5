package org.quant4j.quantize;

import java.util.List;
import java.util.Map;
import org.apache.commons.math3.util.MathArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.BiasCorrection;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;

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
     */
    static void apply(ObservedNetwork calibration, List<QuantizableOp> ops, ModelGraph quantized) {
        ModelGraph fp32 = calibration.fp32Graph();
        List<INDArray[]> batches = calibration.heldBatches();
        Map<QuantizableOp, double[]> references = fp32ChannelSums(fp32, ops, batches);
        for (QuantizableOp op : ops) {
            double[] sum = null;
            long perChannel = 0;
            for (int b = 0; b < batches.size(); b++) {
                Map<String, INDArray> feed = InputFeed.of(fp32.inputs(), batches.get(b),
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
            Map<String, INDArray> feed = InputFeed.of(fp32.inputs(), batches.get(b),
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
        INDArray d = y.castTo(DataType.DOUBLE);
        double[] sums = d.sum(others).toDoubleVector();
        org.quant4j.nd4j.NativeArrays.release(d, y);
        return sums;
    }
}
