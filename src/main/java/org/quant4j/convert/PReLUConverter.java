package org.quant4j.convert;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * PReLULayer: {@code x} where {@code x >= 0}, {@code alpha * x} elsewhere, on inputs of any rank. DL4J's alpha has the
 * configured input shape without the batch dimension, with 1 on every shared axis (axes count the batch as 0, so
 * sharedAxes 2, 3 of an NCHW input give alpha [C, 1, 1]); it broadcasts over the batch and the shared axes. Written
 * as {@code max(x, 0) + alpha * min(x, 0)}, which equals DL4J's {@code prelu} op exactly.
 */
final class PReLUConverter implements LayerConverter<PReLULayer> {

    @Override
    public Tensor convert(LayerContext<PReLULayer> c, Tensor input) {
        INDArray alpha = c.param("W");
        long[] shape = alpha.shape();
        if (shape.length != input.rank() - 1) {
            throw new UnsupportedLayerException(c.where() + ": alpha of shape " + Arrays.toString(shape)
                    + " does not match a rank " + input.rank() + " input");
        }
        long[] batched = new long[shape.length + 1];
        batched[0] = 1;
        System.arraycopy(shape, 0, batched, 1, shape.length);
        SameDiff sd = c.graph();
        SDVariable x = input.variable();
        SDVariable a = c.constant("W", batched);
        SDVariable positive = sd.nn.relu(c.inner("positive"), x, 0.0);
        SDVariable negative = sd.math.min(c.inner("negative"), x, sd.zerosLike(c.inner("zero"), x));
        return new Tensor(sd.math.add(c.name(), positive, sd.math.mul(c.inner("scaled"), negative, a)), input.rank());
    }
}
