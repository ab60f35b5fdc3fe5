package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * EmbeddingSequenceLayer: input [N, T] (or [N, 1, T]) of class indices, output {@code act(W[i_t] + b)} per step,
 * [N, nOut, T] (outputFormat NCW) or [N, T, nOut] (NWC): a {@code gather} of the table's rows (quantized per row,
 * weight only) into [N, T, nOut], then the activation over the features (of NCW) and the layout.
 */
final class EmbeddingSequenceConverter implements LayerConverter<EmbeddingSequenceLayer> {

    @Override
    public Tensor convert(LayerContext<EmbeddingSequenceLayer> c, Tensor input) {
        EmbeddingSequenceLayer layer = c.layer();
        SameDiff sd = c.graph();
        SDVariable x = input.variable();
        if (input.rank() == 3) {
            x = sd.squeeze(c.inner("squeezed"), x, 1);
        } else if (input.rank() != 2) {
            throw new UnsupportedLayerException(c.where() + " expects indices [N, T] or [N, 1, T] but receives rank "
                    + input.rank());
        }
        SDVariable indices = Embeddings.indices(c, x, layer.getNIn());
        SDVariable rows = sd.gather(c.inner("rows"), c.constant("W"), indices, 0);
        SDVariable z = layer.isHasBias() ? sd.math.add(c.inner("preact"), rows, c.constant("b", 1, 1, layer.getNOut()))
                : rows;
        SDVariable ncw = sd.permute(c.inner("ncw"), z, 0, 2, 1);
        if (layer.getOutputFormat() != RNNFormat.NWC) {
            return new Tensor(ActivationFunctions.apply(sd, c.name(), layer.getActivationFn(), ncw, c.where(), 3), 3);
        }
        SDVariable activated = ActivationFunctions.apply(sd, c.inner("activated"), layer.getActivationFn(), ncw,
                c.where(), 3);
        return new Tensor(sd.permute(c.name(), activated, 0, 2, 1), 3);
    }
}
