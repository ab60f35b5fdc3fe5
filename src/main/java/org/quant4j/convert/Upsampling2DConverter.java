package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.Upsampling2D;

/** Upsampling2D: nearest-neighbour repetition of each pixel, size[0] times down and size[1] times across. */
final class Upsampling2DConverter implements LayerConverter<Upsampling2D> {

    @Override
    public Tensor convert(LayerContext<Upsampling2D> c, Tensor input) {
        Cnn.requireNchw(c, input, c.layer().getFormat());
        int[] s = c.layer().getSize();
        return new Tensor(c.graph().cnn.upsampling2d(c.name(), input.variable(), s[0], s[1], true), 4);
    }
}
