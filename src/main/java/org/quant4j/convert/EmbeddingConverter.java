package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * EmbeddingLayer: input [N, 1] (or [N]) of class indices, output {@code act(W[i] + b)} [N, nOut], as a
 * {@code gather} of the rows of the table W [nIn, nOut] (quantized per row, weight only:
 * {@code graph.QuantizableOps#weightOnly}).
 */
final class EmbeddingConverter implements LayerConverter<EmbeddingLayer> {

    @Override
    public Tensor convert(LayerContext<EmbeddingLayer> c, Tensor input) {
        EmbeddingLayer layer = c.layer();
        if (input.rank() > 2) {
            throw new UnsupportedLayerException(c.where() + " expects indices [N, 1] but receives rank "
                    + input.rank());
        }
        SameDiff sd = c.graph();
        SDVariable indices = sd.reshape(c.inner("indices"), Embeddings.indices(c, input.variable(), layer.getNIn()),
                -1);
        SDVariable rows = sd.gather(c.inner("rows"), c.constant("W"), indices, 0);
        SDVariable z = layer.isHasBias() ? sd.math.add(c.inner("preact"), rows, c.constant("b", 1, layer.getNOut()))
                : rows;
        return new Tensor(ActivationFunctions.apply(sd, c.name(), layer.getActivationFn(), z, c.where(), 2), 2);
    }
}
