package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * DenseLayer and OutputLayer: {@code act(x W + b)} with W of shape [nIn, nOut] (DL4J's layout) as a
 * {@code xw_plus_b} op, or a plain {@code matmul} when the layer has no bias. The output layer's loss function
 * plays no part at inference.
 */
final class FeedForwardConverter implements LayerConverter<FeedForwardLayer> {

    @Override
    public Tensor convert(LayerContext<FeedForwardLayer> c, Tensor input) {
        FeedForwardLayer layer = c.layer();
        if (input.rank() != 2) {
            throw new UnsupportedLayerException(c.where() + " expects a rank 2 input [N, " + layer.getNIn()
                    + "] but receives rank " + input.rank() + " (a missing preprocessor?)");
        }
        if (layer instanceof DenseLayer dense && dense.hasLayerNorm()) {
            throw new UnsupportedLayerException(c.where() + ": layer normalization is not supported yet");
        }
        SDVariable w = c.constant("W");
        SDVariable z = c.hasParam("b")
                ? c.graph().nn.linear(c.inner("preact"), input.variable(), w, c.constant("b", layer.getNOut()))
                : c.graph().mmul(c.inner("preact"), input.variable(), w);
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), ((BaseLayer) layer).getActivationFn(), z,
                c.where(), 2), 2);
    }
}
