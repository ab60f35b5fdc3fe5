package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * SelfAttentionLayer: {@link Attention} of the sequence [N, nIn, T] (NCW, as DL4J's attention layers take it) over
 * itself, with the projections {@code Wq}, {@code Wk}, {@code Wv}, {@code Wo} when the layer projects its input
 * (DL4J's {@code multiHeadDotProductAttention}, scaled) or without (one head, {@code dotProductAttention}), the
 * network's feature mask masking the keys; the output [N, nOut, T]. DL4J leaves the masked steps' outputs as they
 * are (the next masked layer ignores them), and so does this.
 */
final class SelfAttentionConverter implements LayerConverter<SelfAttentionLayer> {

    @Override
    public Tensor convert(LayerContext<SelfAttentionLayer> c, Tensor input) {
        SelfAttentionLayer layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        int steps = Sequences.steps(c, input, RNNFormat.NCW);
        Attention attention = new Attention(sd, c.name(), projections(c, layer.isProjectInput()), layer.getNIn());
        SDVariable x = input.variable();
        SDVariable rows = attention.attend(c.name(), x, steps, x, x, steps, Sequences.mask(sd));
        return new Tensor(Sequences.fromRows(sd, c.name(), rows, RNNFormat.NCW, x), 3);
    }

    /** The layer's projections when it projects its input, else null. */
    static Attention.Projections projections(LayerContext<?> c, boolean projectInput) {
        return projectInput ? new Attention.Projections(c.param("Wq"), c.param("Wk"), c.param("Wv"), c.param("Wo"))
                : null;
    }
}
