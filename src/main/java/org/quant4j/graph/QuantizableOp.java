package org.quant4j.graph;

/**
 * An op that runs in integer arithmetic once quantized (a convolution or a matrix product): its weight input is
 * quantized per output channel, its activation input per input channel (or per tensor).
 *
 * @param op                the SameDiff op's name
 * @param output            the op's (first) output variable: the name reports and options use
 * @param type              the op's kind, e.g. {@code conv2d}, {@code xw_plus_b}, {@code matmul}
 * @param activation        the variable fed as the op's data input
 * @param activationAxis    the channel axis of the activation (1 for NCHW and [N, F]; 3 for NHWC)
 * @param weight            the constant or variable fed as the op's weights
 * @param weightAxis        the output-channel axis of the weights (0 for OIYX, 1 for [nIn, nOut])
 * @param weightInputAxis   the input-channel axis of the weights (1 for OIYX, 0 for [nIn, nOut])
 */
public record QuantizableOp(String op, String output, String type, String activation, int activationAxis, String weight,
        int weightAxis, int weightInputAxis) {
}
