package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.CnnLossLayer;

/**
 * CnnLossLayer: at inference its activation function per pixel (softmax over the channel axis 1 of NCHW); the loss
 * plays no part.
 */
final class CnnLossLayerConverter implements LayerConverter<CnnLossLayer> {

    @Override
    public Tensor convert(LayerContext<CnnLossLayer> c, Tensor input) {
        Cnn.requireNchw(c, input, c.layer().getFormat());
        return new Tensor(ActivationFunctions.apply(c.graph(), c.name(), c.layer().getActivationFn(),
                input.variable(), c.where(), input.rank()), 4);
    }
}
