package org.quant4j.convert;

import org.deeplearning4j.nn.conf.CNN2DFormat;

/** Checks shared by the converters of convolutional layers. */
final class Cnn {

    private Cnn() {
    }

    /** Fails unless the input is rank 4 in NCHW. */
    static void requireNchw(LayerContext<?> c, Tensor input, CNN2DFormat format) {
        if (input.rank() != 4) {
            throw new UnsupportedLayerException(c.where() + " expects a rank 4 input [N, C, H, W] but receives rank "
                    + input.rank());
        }
        if (format != null && format != CNN2DFormat.NCHW) {
            throw new UnsupportedLayerException(c.where() + ": data format " + format
                    + " is not supported yet (NCHW only)");
        }
    }
}
