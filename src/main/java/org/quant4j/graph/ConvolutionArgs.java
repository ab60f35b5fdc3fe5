package org.quant4j.graph;

import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;

/**
 * A 2D convolution's data and weight layouts, read from the op's integer arguments
 * ({@code [kH, kW, sH, sW, pH, pW, dH, dW, sameMode, dataFormat, weightsFormat]}): a SameDiff copy ({@code dup}, and
 * so a reload) keeps those but resets the config object's weights format to YXIO (seen here with M2.1).
 */
public final class ConvolutionArgs {

    private ConvolutionArgs() {
    }

    /** The weights' layout: YXIO [kH, kW, in, out], OIYX [out, in, kH, kW] or OYXI [out, kH, kW, in]. */
    public static WeightsFormat weightsFormat(Conv2D conv) {
        long[] args = conv.iArgs();
        if (args != null && args.length > 10) {
            return switch ((int) args[10]) {
                case 1 -> WeightsFormat.OIYX;
                case 2 -> WeightsFormat.OYXI;
                default -> WeightsFormat.YXIO;
            };
        }
        return conv.getConfig().getWeightsFormat();
    }

    /** Whether activations are NHWC (else NCHW), for a conv2d or depthwise_conv2d op (same argument layout). */
    public static boolean nhwc(org.nd4j.autodiff.functions.DifferentialFunction op) {
        long[] args = op instanceof org.nd4j.linalg.api.ops.DynamicCustomOp c ? c.iArgs() : null;
        if (args != null && args.length > 9) {
            return args[9] == 1;
        }
        if (op instanceof Conv2D conv) {
            return conv.getConfig().isNHWC();
        }
        if (op instanceof org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D dw) {
            return dw.getConfig().isNHWC();
        }
        return false;
    }
}
