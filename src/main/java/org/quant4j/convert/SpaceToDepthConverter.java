package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.nd4j.enums.DataFormat;

/** SpaceToDepthLayer: each block x block patch moved into channels ({@code space_to_depth}, NCHW). */
final class SpaceToDepthConverter implements LayerConverter<SpaceToDepthLayer> {

    @Override
    public Tensor convert(LayerContext<SpaceToDepthLayer> c, Tensor input) {
        Cnn.requireNchw(c, input, c.layer().getDataFormat());
        return new Tensor(c.graph().cnn.spaceToDepth(c.name(), input.variable(), c.layer().getBlockSize(),
                DataFormat.NCHW), 4);
    }
}
