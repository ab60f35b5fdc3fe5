package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.nd4j.DoubleScratch;
import org.quant4j.nd4j.NativeArrays;

/**
 * The per-point choices: of the candidates of an activation point (per-channel and per-tensor scales, with and
 * without zero points, each with its consumers' weights solved for it), the one whose consumers' outputs come closest
 * to fp32, measured.
 */
final class PointChoice {

    private PointChoice() {
    }

    /** The candidates of one activation point: each its quantization and its consumers' weights solved for it. */
    record Choice(String tensor, List<ConsumerReplay.Trial> candidates) {
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
    static List<ConsumerReplay.Trial> choose(ObservedNetwork calibration, List<Choice> choices,
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
            // Block by block (NativeArrays.channelBlocks), in two double arrays reused from block to block.
            List<INDArray> rs = NativeArrays.channelBlocks(reference, axis);
            List<INDArray> qs = NativeArrays.channelBlocks(quantized, axis);
            try (DoubleScratch scratch = new DoubleScratch(2)) {
                for (int i = 0; i < rs.size(); i++) {
                    addBlock(scratch.copy(0, rs.get(i)), scratch.copy(1, qs.get(i)));
                }
            }
        }

        /** One block {@code [A, C, B]} in double: {@code e = q - r} and {@code r} are changed in place. */
        private void addBlock(INDArray r, INDArray e) {
            e.subi(r);
            double[] s = e.sum(0, 2).toDoubleVector();
            e.muli(e);
            double[] q = e.sum(0, 2).toDoubleVector();
            if (sum == null) {
                sum = new double[s.length];
                squares = new double[s.length];
            }
            for (int c = 0; c < s.length; c++) {
                sum[c] += s[c];
                squares[c] += q[c];
            }
            r.muli(r);
            signal += r.sumNumber().doubleValue();
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
}
