package org.quant4j.convert;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.nd4j.autodiff.samediff.SDVariable;

/** Checks and reshapes shared by the converters of convolutional layers. */
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

    /** Fails unless the input is rank 3, a sequence batch [N, C, W] (NCW) or [N, W, C] (NWC). */
    static void requireSequence(LayerContext<?> c, Tensor input) {
        if (input.rank() != 3) {
            throw new UnsupportedLayerException(c.where() + " expects a rank 3 input [N, C, W] but receives rank "
                    + input.rank());
        }
    }

    /**
     * A sequence batch as an NCHW image batch: [N, C, W] (or [N, W, C] when {@code format} is NWC) becomes
     * [N, C, 1, W] ({@code axis} 2: the sequence runs along the width, as libnd4j's conv1d computes) or [N, C, W, 1]
     * ({@code axis} 3: along the height, as DL4J's Subsampling1DLayer computes).
     */
    static SDVariable sequenceToImage(LayerContext<?> c, SDVariable x, RNNFormat format, int axis) {
        SDVariable ncw = format == RNNFormat.NWC ? c.graph().permute(c.inner("ncw"), x, 0, 2, 1) : x;
        return c.graph().expandDims(c.inner("image"), ncw, axis);
    }

    /** The inverse of {@link #sequenceToImage}, named {@code name}. */
    static SDVariable imageToSequence(LayerContext<?> c, SDVariable image, RNNFormat format, int axis, String name) {
        if (format == RNNFormat.NWC) {
            return c.graph().permute(name, c.graph().squeeze(c.inner("squeezed"), image, axis), 0, 2, 1);
        }
        return c.graph().squeeze(name, image, axis);
    }
}
