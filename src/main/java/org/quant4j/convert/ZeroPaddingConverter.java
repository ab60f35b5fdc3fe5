package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** ZeroPaddingLayer: zeros added above, below, left and right of each NCHW feature map ({@code pad} op). */
final class ZeroPaddingConverter implements LayerConverter<ZeroPaddingLayer> {

    @Override
    public Tensor convert(LayerContext<ZeroPaddingLayer> c, Tensor input) {
        Cnn.requireNchw(c, input, c.layer().getDataFormat());
        int[] p = c.layer().getPadding(); // top, bottom, left, right
        var padding = c.graph().constant(c.inner("padding"),
                Nd4j.createFromArray(new int[][] {{0, 0}, {0, 0}, {p[0], p[1]}, {p[2], p[3]}}).castTo(DataType.INT32));
        return new Tensor(c.graph().nn.pad(c.name(), input.variable(), padding, 0.0), 4);
    }
}
