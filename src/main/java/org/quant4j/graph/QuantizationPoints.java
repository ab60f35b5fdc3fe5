package org.quant4j.graph;

import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;

/**
 * Where the data input of a quantized op is quantized: not at the op itself but as far upstream as the value
 * passes unchanged in kind through "transparent" ops: identity (dropout at inference), a flatten (a reshape
 * before a dense layer) and max pooling, which commute with a per-channel monotonic quantizer ({@code max(q(x)) = q(max(x))}). Integer
 * execution then requantizes the producing op's output straight onto that point's grid, and the fake-quant graph
 * quantizes at the same place, so both compute the same thing.
 */
public final class QuantizationPoints {

    private QuantizationPoints() {
    }

    /**
     * The tensor to quantize for the data input of {@code op}, and its channel axis.
     *
     * @param tensor  the variable quantized
     * @param axis    its channel axis (1 when a reshape was crossed: channels of NCHW or [N, F] values)
     * @param flatten whether a reshape lies between the point and the op (the op sees flattened channels)
     */
    public record Point(String tensor, int axis, boolean flatten) {
    }

    public static Point of(SameDiff sd, QuantizableOp op) {
        String tensor = op.activation();
        boolean flatten = false;
        while (true) {
            Variable v = sd.getVariables().get(tensor);
            if (v == null || v.getOutputOfOp() == null) {
                break;
            }
            SameDiffOp producer = sd.getOps().get(v.getOutputOfOp());
            DifferentialFunction f = producer.getOp();
            // A reshape before a dense layer is a flatten, channel-major (NCHW, C order); before a convolution (any
            // kind) it is an unflatten, which no per-channel quantizer of the flat side could follow: stop there.
            boolean dense = op.type().equals("xw_plus_b") || op.type().equals("matmul");
            boolean flattening = f instanceof Reshape && dense;
            boolean transparent = f instanceof Identity || flattening || f instanceof MaxPooling2D;
            if (!transparent || producer.getInputsToOp() == null || producer.getInputsToOp().isEmpty()) {
                break;
            }
            flatten |= f instanceof Reshape;
            tensor = producer.getInputsToOp().get(0);
        }
        return new Point(tensor, flatten ? 1 : op.activationAxis(), flatten);
    }
}
