package org.quant4j.convert;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;

/**
 * ConvolutionLayer (2D, NCHW): a {@code conv2d} op with DL4J's weight layout [out, in, kH, kW] (OIYX), bias and
 * activation. ConvolutionMode Same maps to SAME padding; Truncate and Strict to explicit (VALID) padding.
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
        int[] k = layer.getKernelSize();
        int[] s = layer.getStride();
        int[] p = layer.getPadding();
        int[] d = layer.getDilation();
        Conv2DConfig config = Conv2DConfig.builder()
                .kH(k[0]).kW(k[1]).sH(s[0]).sW(s[1]).pH(p[0]).pW(p[1]).dH(d[0]).dW(d[1])
                .paddingMode(paddingMode(layer.getConvolutionMode(), c))
                .dataFormat(Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.OIYX)
                .build();
        SDVariable w = c.constant("W");
        SDVariable z = layer.hasBias()
                ? c.graph().cnn.conv2d(c.inner("preact"), input.variable(), w, c.constant("b", layer.getNOut()), config)
                : c.graph().cnn.conv2d(c.inner("preact"), input.variable(), w, config);
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), layer.getActivationFn(), z, c.where(), 4), 4);
    }

    /** The depthwise part's config: the layer's geometry, NCHW, weights [kH, kW, nIn, depthMultiplier]. */
    static Conv2DConfig depthwiseConfig(ConvolutionLayer layer, LayerContext<?> c) {
        int[] k = layer.getKernelSize();
        int[] s = layer.getStride();
        int[] p = layer.getPadding();
        int[] d = layer.getDilation();
        return Conv2DConfig.builder()
                .kH(k[0]).kW(k[1]).sH(s[0]).sW(s[1]).pH(p[0]).pW(p[1]).dH(d[0]).dW(d[1])
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
