package org.quant4j.graph;

import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.quant4j.QuantizationException;

/**
 * Whether the input of a 2-D convolution or pooling op is large enough for its window: without "same" padding the
 * output has {@code floor((in + 2p - (d (k - 1) + 1)) / s) + 1} rows, and an input smaller than the dilated window
 * plus padding ({@code in + 2p < d (k - 1) + 1}) leaves none, which libnd4j's oneDNN kernels answer by aborting the
 * JVM. The ops' integer arguments begin {@code kH, kW, sH, sW, pH, pW, dH, dW, sameMode}; the layout flag (NHWC) is
 * argument 9 of a convolution and 10 of a pooling.
 */
final class SpatialFit {

    private static final Set<String> CONVOLUTIONS = Set.of("conv2d", "depthwise_conv2d");
    private static final Set<String> POOLINGS = Set.of("maxpool2d", "avgpool2d", "pnormpool2d");

    private SpatialFit() {
    }

    /** Refuses to run {@code op} on {@code input} when its window does not fit; other ops pass. */
    static void require(DifferentialFunction op, INDArray input) {
        String name = op.opName();
        boolean convolution = CONVOLUTIONS.contains(name);
        if (!(convolution || POOLINGS.contains(name)) || !(op instanceof DynamicCustomOp custom) || input == null
                || input.rank() != 4) {
            return;
        }
        long[] a = custom.iArgs();
        if (a == null || a.length < 9 || a[8] != 0) {
            return; // "same" padding fits any size of at least one
        }
        int layoutArg = convolution ? 9 : 10;
        boolean nhwc = a.length > layoutArg && a[layoutArg] == 1;
        long height = input.size(nhwc ? 1 : 2);
        long width = input.size(nhwc ? 2 : 3);
        long windowH = a[6] * (a[0] - 1) + 1;
        long windowW = a[7] * (a[1] - 1) + 1;
        if (height + 2 * a[4] < windowH || width + 2 * a[5] < windowW) {
            throw new QuantizationException("op '" + op.getOwnName() + "' (" + name + ", window " + windowH + "x"
                    + windowW + ", padding " + a[4] + "x" + a[5] + ") cannot take an input of " + height + "x" + width
                    + " (shape " + java.util.Arrays.toString(input.shape()) + "): the input is too small for the"
                    + " network (check the image height and width)");
        }
    }
}
