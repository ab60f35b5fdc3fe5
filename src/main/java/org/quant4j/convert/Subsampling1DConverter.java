package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * Subsampling1DLayer on sequences [N, C, W] (NCW; the layer has no NWC option in M2.1): DL4J reshapes the input to
 * [N, C, W, 1] and runs its 2D pooling with kernel, stride and padding [k, 1], [s, 1], [p, 0]; so does this converter,
 * with the 2D converter's pooling (MAX, AVG, PNORM; Same, Truncate, Strict) between the reshapes. DL4J quirk: the
 * layer's configuration holds 2D arrays whose second value is not the 1 its forward pass uses (padding p becomes
 * [p, p], a kernel k [k, 1]); only the first value counts.
 */
final class Subsampling1DConverter implements LayerConverter<Subsampling1DLayer> {

    @Override
    public Tensor convert(LayerContext<Subsampling1DLayer> c, Tensor input) {
        Cnn.requireSequence(c, input);
        Subsampling1DLayer layer = c.layer();
        SDVariable image = Cnn.sequenceToImage(c, input.variable(), RNNFormat.NCW, 3);
        // The 1D geometry is the first value of each array (M2.1 fills the second with the same value, or 1).
        SDVariable pooled = SubsamplingConverter.pool(c, image, c.inner("pooled"),
                new int[] {layer.getKernelSize()[0], 1}, new int[] {layer.getStride()[0], 1},
                new int[] {layer.getPadding()[0], 0}, new int[] {layer.getDilation()[0], 1});
        return new Tensor(Cnn.imageToSequence(c, pooled, RNNFormat.NCW, 3, c.name()), 3);
    }
}
