package org.quant4j.runtime;

import java.util.List;

/**
 * The registry of op lowerings, in the order the planner asks them: integer kernels first (a quantized op reading
 * levels), then quantize steps, aliases, f32 primitives, and fp32 islands last (the last takes any op). Adding an op
 * family is one {@link OpLowering} class and one line here, before the islands.
 */
final class Lowerings {

    /** Every lowering, in the order the planner tries them. */
    static final List<OpLowering> ALL = List.of(
            new LstmLowering(), // a converted LSTM layer with dynamic hidden-state levels: one step, int8 products
            new DynamicDenseLowering(), // a tensor quantized per call read by dense products: int8 kernels
            new ConvolutionLowering(), // conv2d, depthwise_conv2d on levels: int8 kernels (residual add fused)
            new DenseLowering(), // xw_plus_b, matmul on levels: int8 kernels
            new QuantizeLowering(), // a point's :scaled/rint/:q/:fq ops: one quantize step
            new AliasLowering(), // identity, a flatten of levels: no step
            new ChannelsLastLowering(), // the permutes at the edges of channels-last networks: a copy
            new PoolingLowering(), // max pooling, global average/max pooling
            new ElementwiseLowering(), // ReLU, leaky ReLU, sigmoid, add, a rank-2 softmax
            new ConcatenationLowering(), // concat
            new PadLowering(), // a constant padding: row copies
            new LibraryIslandLowering(), // other softmaxes, pad, batchnorm, lrn, avgpool2d, subtract, multiply: the library op
            new SameDiffIslandLowering()); // anything else: the op alone through SameDiff

    private Lowerings() {
    }
}
