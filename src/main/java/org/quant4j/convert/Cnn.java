package org.quant4j.convert;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.graph.KernelTaps;

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

    /**
     * The undilated equivalent of a dilated kernel, for SameDiff M2.1's conv2d and depthwise_conv2d, which fail on
     * dilations > 1 whenever libnd4j runs them with oneDNN (conv2d in fp32 always; depthwise_conv2d with a depth
     * multiplier of 1): the helpers pass the dilation to oneDNN (as d - 1, rightly) but compute the right/bottom
     * padding with the undilated kernel size, {@code (o - 1) s - i + k - p} instead of
     * {@code (o - 1) s - i + (k - 1) d + 1 - p}, so oneDNN finds the output size inconsistent and refuses the
     * descriptor ("could not create a descriptor for a dilated convolution forward propagation primitive"). Along each axis {@code axes[a]}, the
     * kernel of size k becomes one of size (k - 1) d + 1, {@code d = dilations[a]}, with tap j at position j d and
     * exact zeros between the taps: the same sums, the zeros adding nothing, and the same output size and SAME
     * padding, since the kernel spans the same pixels. The result is a fresh C-order array; the kernel itself when
     * nothing is spread (every dilation 1, or a kernel of size 1 along each dilated axis).
     *
     * @param kernel    the weights, in any layout
     * @param axes      the kernel's spatial axes (2 and 3 for [out, in, kH, kW])
     * @param dilations the dilation along each of {@code axes}
     */
    static INDArray undilatedKernel(INDArray kernel, int[] axes, long[] dilations) {
        if (axes.length != dilations.length) {
            throw new IllegalArgumentException(axes.length + " axes but " + dilations.length + " dilations");
        }
        long[] shape = kernel.shape();
        INDArrayIndex[] taps = new INDArrayIndex[shape.length];
        for (int i = 0; i < taps.length; i++) {
            taps[i] = NDArrayIndex.all();
        }
        boolean dilated = false;
        for (int a = 0; a < axes.length; a++) {
            long d = dilations[a];
            if (d < 1) {
                throw new IllegalArgumentException("dilation " + d + " along axis " + axes[a]);
            }
            if (d == 1 || shape[axes[a]] == 1) {
                continue; // nothing to spread
            }
            long span = (shape[axes[a]] - 1) * d + 1;
            taps[axes[a]] = NDArrayIndex.interval(0, d, span);
            shape[axes[a]] = span;
            dilated = true;
        }
        if (!dilated) {
            return kernel;
        }
        INDArray stuffed = Nd4j.zeros(kernel.dataType(), shape);
        stuffed.get(taps).assign(kernel);
        return stuffed;
    }

    /**
     * {@code kernel} spelled out undilated ({@link #undilatedKernel}) as the graph constant {@code <layer>/<key>};
     * when spread, recorded as holding structural zeros ({@link KernelTaps}), so that weight statistics see only its
     * taps.
     */
    static SDVariable undilatedConstant(LayerContext<?> c, String key, INDArray kernel, int[] axes, long[] dilations) {
        INDArray spread = undilatedKernel(kernel, axes, dilations);
        String name = c.name() + "/" + key;
        if (spread != kernel) {
            long[] steps = new long[kernel.rank()];
            Arrays.fill(steps, 1);
            for (int a = 0; a < axes.length; a++) {
                steps[axes[a]] = kernel.size(axes[a]) == 1 ? 1 : dilations[a];
            }
            c.kernelTaps(name, new KernelTaps(steps));
        }
        return c.graph().constant(name, spread);
    }
}
