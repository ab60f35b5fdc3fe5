package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.ActivationLayer;

/** ActivationLayer: the configured activation function alone. */
final class ActivationLayerConverter implements LayerConverter<ActivationLayer> {

    @Override
    public Tensor convert(LayerContext<ActivationLayer> c, Tensor input) {
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), c.layer().getActivationFn(),
                input.variable(), c.where(), input.rank()), input.rank());
    }
}
