package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;

/**
 * DepthwiseConvolution2D (NCHW): a {@code depthwise_conv2d} op with DL4J's weight layout [kH, kW, nIn, depthMultiplier]
 * (output channel {@code i * depthMultiplier + m} filters input channel {@code i}), bias and activation. A dilated
 * kernel is spelled out undilated ({@link ConvolutionConverter#undilatedDepthwiseKernel}).
 */
final class DepthwiseConvolutionConverter implements LayerConverter<DepthwiseConvolution2D> {

    @Override
    public Tensor convert(LayerContext<DepthwiseConvolution2D> c, Tensor input) {
        DepthwiseConvolution2D layer = c.layer();
        Cnn.requireNchw(c, input, layer.getCnn2dDataFormat());
        SDVariable w = ConvolutionConverter.undilatedDepthwiseKernel(c, c.param("W").dup('c'));
        Conv2DConfig config = ConvolutionConverter.depthwiseConfig(layer, w, c);
        SDVariable z = layer.hasBias()
                ? c.graph().cnn.depthWiseConv2d(c.inner("preact"), input.variable(), w,
                        c.constant("b", w.getArr().size(2) * w.getArr().size(3)), config)
                : c.graph().cnn.depthWiseConv2d(c.inner("preact"), input.variable(), w, config);
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), layer.getActivationFn(), z, c.where(), 4), 4);
    }
}
