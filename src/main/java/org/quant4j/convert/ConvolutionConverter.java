package org.quant4j.convert;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;

/**
 * ConvolutionLayer (2D, NCHW): a {@code conv2d} op with DL4J's weight layout [out, in, kH, kW] (OIYX), bias and
 * activation. ConvolutionMode Same maps to SAME padding; Truncate and Strict to explicit (VALID) padding.
 *
 * <p>A dilated kernel (dilation > 1 along either axis) becomes the equivalent undilated kernel of size
 * (k - 1) d + 1 with zeros between the taps ({@link Cnn#undilatedKernel}; SameDiff M2.1's conv2d fails on
 * dilations): its output size and SAME padding are those of the dilated kernel, which spans the same pixels.
 * Depthwise kernels likewise ({@link #undilatedDepthwiseKernel}).
 */
final class ConvolutionConverter implements LayerConverter<ConvolutionLayer> {

    @Override
    public Tensor convert(LayerContext<ConvolutionLayer> c, Tensor input) {
        ConvolutionLayer layer = c.layer();
        if (input.rank() != 4) {
            throw new UnsupportedLayerException(c.where() + " expects a rank 4 input [N, C, H, W] but receives rank "
                    + input.rank());
        }
        if (layer.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
            throw new UnsupportedLayerException(c.where() + ": data format " + layer.getCnn2dDataFormat()
                    + " is not supported yet (NCHW only)");
        }
        int[] s = layer.getStride();
        int[] p = layer.getPadding();
        int[] d = layer.getDilation();
        SDVariable w = Cnn.undilatedConstant(c, "W", c.param("W").dup('c'), new int[] {2, 3},
                new long[] {d[0], d[1]});
        Conv2DConfig config = Conv2DConfig.builder()
                .kH(w.getArr().size(2)).kW(w.getArr().size(3)).sH(s[0]).sW(s[1]).pH(p[0]).pW(p[1]).dH(1).dW(1)
                .paddingMode(paddingMode(layer.getConvolutionMode(), c))
                .dataFormat(Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.OIYX)
                .build();
        SDVariable z = layer.hasBias()
                ? c.graph().cnn.conv2d(c.inner("preact"), input.variable(), w, c.constant("b", layer.getNOut()), config)
                : c.graph().cnn.conv2d(c.inner("preact"), input.variable(), w, config);
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), layer.getActivationFn(), z, c.where(), 4), 4);
    }

    /**
     * A depthwise kernel [kH, kW, nIn, depthMultiplier] (YXIO) with the layer's dilation spelled out, as the graph
     * constant {@code <layer>/W} ({@link Cnn#undilatedConstant}): M2.1's depthwise_conv2d fails on dilations as conv2d
     * does when it runs with oneDNN (a depth multiplier of 1).
     */
    static SDVariable undilatedDepthwiseKernel(LayerContext<? extends ConvolutionLayer> c, INDArray kernel) {
        int[] d = c.layer().getDilation();
        return Cnn.undilatedConstant(c, "W", kernel, new int[] {0, 1}, new long[] {d[0], d[1]});
    }

    /**
     * The depthwise part's config: the layer's stride, padding and padding mode, the size of {@code kernel} (from
     * {@link #undilatedDepthwiseKernel}, so no dilation), NCHW, weights [kH, kW, nIn, depthMultiplier].
     */
    static Conv2DConfig depthwiseConfig(ConvolutionLayer layer, SDVariable kernel, LayerContext<?> c) {
        int[] s = layer.getStride();
        int[] p = layer.getPadding();
        return Conv2DConfig.builder()
                .kH(kernel.getArr().size(0)).kW(kernel.getArr().size(1)).sH(s[0]).sW(s[1]).pH(p[0]).pW(p[1]).dH(1).dW(1)
                .paddingMode(paddingMode(layer.getConvolutionMode(), c))
                .dataFormat(Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.YXIO)
                .build();
    }

    static PaddingMode paddingMode(ConvolutionMode mode, LayerContext<?> c) {
        if (mode == null) {
            return PaddingMode.VALID;
        }
        return switch (mode) {
            case Same -> PaddingMode.SAME;
            case Truncate, Strict -> PaddingMode.VALID;
            case Causal -> throw new UnsupportedLayerException(c.where() + ": ConvolutionMode.Causal is for 1D layers");
        };
    }
}
