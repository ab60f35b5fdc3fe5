package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.enums.WeightsFormat;

/**
 * SeparableConvolution2D (NCHW) as DL4J computes it ({@code sconv2d}): a depthwise convolution with the layer's
 * kernel, stride, padding and dilation (DL4J's depthwise weights [depthMultiplier, nIn, kH, kW] become
 * [kH, kW, nIn, depthMultiplier], a dilated kernel spelled out undilated as
 * {@link ConvolutionConverter#undilatedDepthwiseKernel} does), then a 1x1 pointwise convolution (weights
 * [nOut, nIn*depthMultiplier, 1, 1], OIYX) with the bias, then the activation. Two quantizable ops: the depthwise
 * and the pointwise convolution.
 */
final class SeparableConvolutionConverter implements LayerConverter<SeparableConvolution2D> {

    @Override
    public Tensor convert(LayerContext<SeparableConvolution2D> c, Tensor input) {
        SeparableConvolution2D layer = c.layer();
        Cnn.requireNchw(c, input, layer.getCnn2dDataFormat());
        SDVariable dw = ConvolutionConverter.undilatedDepthwiseKernel(c, c.param("W").permute(2, 3, 1, 0).dup('c'));
        SDVariable depthwise = c.graph().cnn.depthWiseConv2d(c.inner("depthwise"), input.variable(), dw,
                ConvolutionConverter.depthwiseConfig(layer, dw, c));
        Conv2DConfig pointwise = Conv2DConfig.builder().kH(1).kW(1).sH(1).sW(1).pH(0).pW(0).dH(1).dW(1)
                .paddingMode(org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode.VALID)
                .dataFormat(Conv2DConfig.NCHW).weightsFormat(WeightsFormat.OIYX).build();
        SDVariable pw = c.constant("pW");
        SDVariable z = layer.hasBias()
                ? c.graph().cnn.conv2d(c.inner("preact"), depthwise, pw, c.constant("b", layer.getNOut()), pointwise)
                : c.graph().cnn.conv2d(c.inner("preact"), depthwise, pw, pointwise);
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), layer.getActivationFn(), z, c.where(), 4), 4);
    }
}
