package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.DropoutLayer;

/** DropoutLayer: the identity at inference (DL4J scales during training, inverted dropout). */
final class DropoutConverter implements LayerConverter<DropoutLayer> {

    @Override
    public Tensor convert(LayerContext<DropoutLayer> c, Tensor input) {
        return new Tensor(c.graph().identity(c.name(), input.variable()), input.rank());
    }
}
