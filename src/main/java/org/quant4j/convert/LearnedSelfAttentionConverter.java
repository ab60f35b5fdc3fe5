package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LearnedSelfAttentionLayer: {@link Attention} of nQueries learned queries {@code Q} [1, nIn, nQueries] (repeated
 * for every example, as DL4J tiles them) over the input sequence [N, nIn, T], the feature mask masking the keys;
 * the output [N, nOut, nQueries]. The mask does not apply after it (DL4J passes none on). DL4J M2.1 cannot run this
 * layer at inference (its tiling of Q fails in {@code scatter_update}); the conversion is tested against libnd4j's
 * attention op that DL4J's layer calls.
 */
final class LearnedSelfAttentionConverter implements LayerConverter<LearnedSelfAttentionLayer> {

    @Override
    public Tensor convert(LayerContext<LearnedSelfAttentionLayer> c, Tensor input) {
        LearnedSelfAttentionLayer layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        int steps = Sequences.steps(c, input, RNNFormat.NCW);
        SDVariable x = input.variable();
        SDVariable batch = sd.shape(x).get(SDIndex.interval(0, 1)).castTo(DataType.INT);
        SDVariable repeat = sd.concat(0, batch, sd.constant(Nd4j.createFromArray(1, 1)));
        SDVariable queries = sd.tile(c.inner("queries"), c.constant("Q"), repeat);
        Attention attention = new Attention(sd, c.name(),
                SelfAttentionConverter.projections(c, layer.isProjectInput()), layer.getNIn());
        SDVariable rows = attention.attend(c.name(), queries, layer.getNQueries(), x, x, steps, Sequences.mask(sd));
        Sequences.clearMask(sd);
        return new Tensor(Sequences.fromRows(sd, c.name(), rows, RNNFormat.NCW, x), 3);
    }
}
