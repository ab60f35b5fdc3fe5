package org.quant4j.graph;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;

/**
 * Bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and Bias Correction",
 * section 4.2): quantizing the weights, {@code W~ = W + eps}, shifts the expected output of a layer by
 * {@code E[y~] - E[y] = eps E[x]}; subtracting that shift from the bias removes the systematic part of the weights'
 * quantization error, which per-tensor and 4-bit weights make large (a depthwise filter has 9 weights: their
 * rounding errors do not average out).
 * <pre>  b'[o] = b[o] - sum_{i, k} eps[o, i, k] E[x_i]</pre>
 * with {@code E[x_i]} the mean of input channel {@code i} over the calibration data (borders of padded convolutions
 * are treated as if they saw the mean too, as in the paper). Depthwise: {@code b'[c] = b[c] - E[x_c] sum_k eps[k, c]}.
 * A convolution without bias gets one. Applied to the quantized graph only, so the integer runtime, which reads
 * the graph's biases, computes the same.
 */
public final class BiasCorrection {

    private BiasCorrection() {
    }

    /**
     * Corrects the bias of {@code op} in {@code sd} for the error {@code quantized - original} of its weights.
     *
     * @param original  the fp32 weights, in the op's layout
     * @param quantized the weights the quantized op computes with (dequantized), same layout
     * @param inputMean the mean of each channel (or feature) of the op's data input
     */
    public static void apply(SameDiff sd, QuantizableOp op, INDArray original, INDArray quantized, double[] inputMean) {
        if (op.type().equals("deconv2d")) {
            // A transposed convolution with stride s sums a varying subset of about kH kW / s^2 kernel taps into each
            // output pixel, not all of them: the shift computed below would be wrong by up to s^2. Left uncorrected.
            return;
        }
        INDArray eps = quantized.castTo(DataType.DOUBLE).sub(original.castTo(DataType.DOUBLE));
        INDArray mean = Nd4j.create(inputMean);
        INDArray shift;
        if (op.type().equals("depthwise_conv2d")) {
            long c = eps.size(2);
            long m = eps.size(3);
            if (c != mean.length()) {
                throw mismatch(op, eps, mean);
            }
            // [kH, kW, C, M] summed over the kernel: [C, M]; output channel c * M + m reads input channel c.
            shift = eps.sum(0, 1).reshape(c, m).mulColumnVector(mean.reshape(c, 1)).reshape(c * m);
        } else {
            int out = op.weightAxis();
            int in = op.weightInputAxis();
            int[] rest = java.util.stream.IntStream.range(0, eps.rank()).filter(d -> d != out && d != in).toArray();
            INDArray oi = rest.length == 0 ? eps : eps.sum(rest); // the remaining axes keep their order
            if (in < out) {
                oi = oi.transpose();
            }
            if (oi.size(1) != mean.length()) {
                throw mismatch(op, eps, mean);
            }
            shift = oi.mmul(mean.reshape(mean.length(), 1)).reshape(oi.size(0));
        }
        if (op.type().equals("matmul")) {
            return; // a plain matrix product has no bias to correct
        }
        INDArray bias = GraphEditing.biasOf(sd, sd.getOps().get(op.op()), shift.length(), original.dataType());
        if (bias.length() != shift.length()) {
            throw new QuantizationException("op '" + op.op() + "': bias of " + bias.length() + " values for "
                    + shift.length() + " output channels");
        }
        bias.assign(bias.castTo(DataType.DOUBLE).reshape(shift.length()).sub(shift).castTo(bias.dataType())
                .reshape(bias.shape()));
    }

    private static QuantizationException mismatch(QuantizableOp op, INDArray eps, INDArray mean) {
        return new QuantizationException("op '" + op.op() + "': weights " + java.util.Arrays.toString(eps.shape())
                + " do not match the " + mean.length() + " input channel means of '" + op.activation() + "'");
    }
}
