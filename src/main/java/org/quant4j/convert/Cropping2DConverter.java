package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;

/** Cropping2D: rows removed at the top and bottom, columns at the left and right ({@code strided_slice}). */
final class Cropping2DConverter implements LayerConverter<Cropping2D> {

    @Override
    public Tensor convert(LayerContext<Cropping2D> c, Tensor input) {
        Cnn.requireNchw(c, input, c.layer().getDataFormat());
        int[] k = c.layer().getCropping(); // top, bottom, left, right
        // begin/end masks (bit i = dimension i): N and C whole; H, W to the end where nothing is cropped there.
        int endMask = 0b11 | (k[1] == 0 ? 0b100 : 0) | (k[3] == 0 ? 0b1000 : 0);
        return new Tensor(c.graph().stridedSlice(c.name(), input.variable(), new long[] {0, 0, k[0], k[2]},
                new long[] {0, 0, -k[1], -k[3]}, new long[] {1, 1, 1, 1}, 0b11, endMask, 0, 0, 0), 4);
    }
}
