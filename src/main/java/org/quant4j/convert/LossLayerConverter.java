package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.LossLayer;

/** LossLayer: at inference only its activation function acts; the loss plays no part. */
final class LossLayerConverter implements LayerConverter<LossLayer> {

    @Override
    public Tensor convert(LayerContext<LossLayer> c, Tensor input) {
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), c.layer().getActivationFn(),
                input.variable(), c.where(), input.rank()), input.rank());
    }
}
