package org.quant4j.convert;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.DeConv2DConfig;

/**
 * Deconvolution2D (transposed 2D convolution), NCHW or NHWC: a {@code deconv2d} op, bias and activation, as DL4J
 * runs it. DL4J stores the weights as [nIn, nOut, kH, kW] and permutes them to libnd4j's deconv2d layout
 * [kH, kW, nOut, nIn] (output channels on axis 2, input channels on axis 3) for both data formats; the graph holds
 * the permuted copy. ConvolutionMode Same uses libnd4j's same mode (output size input * stride; the op computes the
 * padding itself, the layer's padding is unused); Truncate and Strict use the layer's padding (output size
 * {@code (in - 1) * stride + dilated kernel - 2 * padding}).
 */
final class Deconvolution2DConverter implements LayerConverter<Deconvolution2D> {

    @Override
    public Tensor convert(LayerContext<Deconvolution2D> c, Tensor input) {
        Deconvolution2D layer = c.layer();
        if (input.rank() != 4) {
            throw new UnsupportedLayerException(c.where() + " expects a rank 4 input but receives rank " + input.rank());
        }
        if (layer.getConvolutionMode() == ConvolutionMode.Causal) {
            throw new UnsupportedLayerException(c.where() + ": ConvolutionMode.Causal is for 1D layers");
        }
        boolean same = layer.getConvolutionMode() == ConvolutionMode.Same;
        boolean nhwc = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC;
        int[] k = layer.getKernelSize();
        int[] s = layer.getStride();
        int[] p = same ? new int[] {0, 0} : layer.getPadding();
        int[] d = layer.getDilation();
        DeConv2DConfig config = DeConv2DConfig.builder()
                .kH(k[0]).kW(k[1]).sH(s[0]).sW(s[1]).pH(p[0]).pW(p[1]).dH(d[0]).dW(d[1])
                .isSameMode(same)
                .dataFormat(nhwc ? "NHWC" : "NCHW")
                .build();
        SameDiff sd = c.graph();
        SDVariable w = sd.constant(c.name() + "/W", c.param("W").permute(2, 3, 1, 0).dup('c'));
        SDVariable z = layer.hasBias()
                ? sd.cnn.deconv2d(c.inner("preact"), input.variable(), w, c.constant("b", layer.getNOut()), config)
                : sd.cnn.deconv2d(c.inner("preact"), input.variable(), w, config);
        if (nhwc && layer.getActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationSoftmax) {
            throw new UnsupportedLayerException(c.where() + ": a softmax activation is not supported with NHWC");
        }
        return new Tensor(ActivationFunctions.apply(sd, c.name(), layer.getActivationFn(), z, c.where(), 4), 4);
    }
}
