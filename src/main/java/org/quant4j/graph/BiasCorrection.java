package org.quant4j.graph;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;

/**
 * Bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and Bias Correction",
 * section 4.2, in its empirical form): quantization shifts the expected output of a layer, {@code E[y~] - E[y]};
 * subtracting that shift from the bias removes the systematic part of the error, which 4-bit weights and 4-bit
 * activations make large (a depthwise filter has 9 weights: their rounding errors do not average out; clipping and
 * the rounding of a skewed distribution shift an activation's mean).
 * <pre>  b'[o] = b[o] - (E[y~[o]] - E[y[o]])</pre>
 * The shift is measured by the caller (quant4j measures it on calibration batches, the op's input and weights
 * quantized, everything before it fp32). A convolution without bias gets one; a plain matrix product has none and is
 * left as it is. Applied to the quantized graph only, so the integer runtime, which reads the graph's biases,
 * computes the same.
 */
public final class BiasCorrection {

    private BiasCorrection() {
    }

    /**
     * Gives {@code op} a bias of {@code channels} zeros if it has none (a plain matrix product is left as it is), so
     * that a later {@link #apply} changes an array in place rather than the graph's structure.
     */
    public static void ensureBias(org.nd4j.autodiff.samediff.SameDiff sd, QuantizableOp op, int channels) {
        if (!op.type().equals("matmul")) {
            var sdOp = sd.getOps().get(op.op());
            if (sdOp == null) {
                throw new QuantizationException("op '" + op.op() + "' is not in the graph");
            }
            GraphEditing.biasOf(sd, sdOp, channels, sd.getVariable(op.output()).dataType());
        }
    }

    /**
     * Subtracts {@code shift} (one value per output channel) from the bias of {@code op} in {@code sd}.
     *
     * @throws QuantizationException when the op's bias does not have one value per shift
     */
    public static void apply(org.nd4j.autodiff.samediff.SameDiff sd, QuantizableOp op, double[] shift) {
        if (op.type().equals("matmul")) {
            return; // a plain matrix product has no bias to correct
        }
        var sdOp = sd.getOps().get(op.op());
        if (sdOp == null) {
            throw new QuantizationException("op '" + op.op() + "' is not in the graph");
        }
        INDArray bias = GraphEditing.biasOf(sd, sdOp, shift.length, sd.getVariable(op.output()).dataType());
        if (bias.length() != shift.length) {
            throw new QuantizationException("op '" + op.op() + "': bias of " + bias.length() + " values for "
                    + shift.length + " output channels");
        }
        bias.assign(bias.castTo(DataType.DOUBLE).reshape(shift.length).sub(Nd4j.create(shift))
                .castTo(bias.dataType()).reshape(bias.shape()));
    }
}
