package org.quant4j.convert;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Convolution1DLayer (and its alias Convolution1D) on sequences [N, C, W] (NCW) or [N, W, C] (NWC), as a
 * {@code conv2d} op on the one-pixel-high image [N, C, 1, W] (see {@link Cnn#sequenceToImage}), so that quantization
 * and the int8 runtime treat it as any 2D convolution. (One pixel wide instead, [N, C, W, 1], M2.1's oneDNN conv2d
 * refuses dilations.)
 *
 * <p>DL4J quirk matched here: the layer stores its weights as a 2D convolution's [nOut, nIn, k, 1], but its forward
 * pass (libnd4j {@code conv1d}, weights [k, nIn, nOut]) <em>reshapes</em> that array to [k, nIn, nOut] in the
 * array's own order rather than permuting it (M2.1 {@code Convolution1DUtils.reshapeWeightArrayOrGradientForFormat}).
 * The converter does the same reshape, to [1, k, nIn, nOut] (YXIO), and so computes what DL4J computes. Only the
 * first value of the layer's 2D kernel, stride, padding and dilation arrays counts (M2.1 fills the second with the same
 * value: kernel 3 is [3, 3]).
 *
 * <p>SameDiff M2.1's conv2d fails on any dilation > 1, so a dilated kernel becomes the equivalent undilated kernel of
 * size (k - 1) d + 1 with zeros between the taps ({@link Cnn#undilatedKernel}): the same sums, exact zeros added.
 *
 * <p>ConvolutionMode Same maps to SAME padding, Truncate and Strict to the explicit padding, Causal to (k - 1) d zeros
 * before the sequence and no padding after it. NWC input is transposed to NCW and the result back, as DL4J does.
 */
final class Convolution1DConverter implements LayerConverter<Convolution1DLayer> {

    @Override
    public Tensor convert(LayerContext<Convolution1DLayer> c, Tensor input) {
        Convolution1DLayer layer = c.layer();
        Cnn.requireSequence(c, input);
        if (layer.getActivationFn() instanceof ActivationSoftmax) {
            throw new UnsupportedLayerException(c.where() + ": a softmax activation is not supported on sequences");
        }
        SameDiff sd = c.graph();
        RNNFormat format = layer.getRnnDataFormat();
        long k = layer.getKernelSize()[0];
        long s = layer.getStride()[0];
        long p = layer.getPadding()[0];
        long d = layer.getDilation()[0];
        long nIn = layer.getNIn();
        long nOut = layer.getNOut();
        SDVariable image = Cnn.sequenceToImage(c, input.variable(), format, 2);
        ConvolutionMode mode = layer.getConvolutionMode() == null ? ConvolutionMode.Truncate : layer.getConvolutionMode();
        PaddingMode padding = PaddingMode.VALID;
        if (mode == ConvolutionMode.Causal) {
            var pads = sd.constant(c.inner("causal_padding"), Nd4j.createFromArray(
                    new int[][] {{0, 0}, {0, 0}, {0, 0}, {(int) ((k - 1) * d), 0}}).castTo(DataType.INT32));
            image = sd.nn.pad(c.inner("causal"), image, pads, 0.0);
            p = 0;
        } else if (mode == ConvolutionMode.Same) {
            padding = PaddingMode.SAME;
        }
        long span = (k - 1) * d + 1;
        Conv2DConfig config = Conv2DConfig.builder()
                .kH(1).kW(span).sH(1).sW(s).pH(0).pW(p).dH(1).dW(1)
                .paddingMode(padding)
                .dataFormat(Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.YXIO)
                .build();
        INDArray stored = c.param("W");
        INDArray taps = stored.reshape(stored.ordering(), 1, k, nIn, nOut).dup('c');
        SDVariable w = Cnn.undilatedConstant(c, "W", taps, new int[] {1}, new long[] {d});
        SDVariable z = layer.hasBias()
                ? sd.cnn.conv2d(c.inner("preact"), image, w, c.constant("b", nOut), config)
                : sd.cnn.conv2d(c.inner("preact"), image, w, config);
        SDVariable activated = ActivationFunctions.apply(sd, c.inner("activated"), layer.getActivationFn(), z,
                c.where(), 4);
        return new Tensor(Cnn.imageToSequence(c, activated, format, 2, c.name()), 3);
    }
}
