package org.quant4j.convert;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * BatchNormalization at inference, as one {@code batchnorm} op over channel axis 1:
 * {@code y = gamma * (x - mean) / sqrt(var + eps) + beta}, with DL4J's global mean and variance. DL4J's
 * BatchNormalization layer does not apply its configured activation function (it is often left on the
 * network's default, SIGMOID), so neither does the converter; the tests check this against DL4J. When DL4J
 * stores the log10 of the standard deviation ({@code useLogStd}), {@code var = (10^log10std)^2}, as DL4J computes it.
 * A layer with locked gamma/beta uses the configured constants.
 */
final class BatchNormConverter implements LayerConverter<BatchNormalization> {

    @Override
    public Tensor convert(LayerContext<BatchNormalization> c, Tensor input) {
        BatchNormalization layer = c.layer();
        if (input.rank() == 4 && layer.getCnn2DFormat() != CNN2DFormat.NCHW) {
            throw new UnsupportedLayerException(c.where() + ": data format " + layer.getCnn2DFormat()
                    + " is not supported yet (NCHW only)");
        }
        if (input.rank() != 2 && input.rank() != 4) {
            throw new UnsupportedLayerException(c.where() + " expects a rank 2 or 4 input but receives rank "
                    + input.rank());
        }
        long channels = c.param("mean").length();
        SDVariable mean = c.constant("mean", channels);
        SDVariable var;
        if (c.hasParam("log10stdev")) {
            INDArray std = Transforms.pow(Nd4j.valueArrayOf(c.param("log10stdev").shape(), 10.0,
                    c.param("log10stdev").dataType()), c.param("log10stdev"), true);
            var = c.graph().constant(c.inner("var"), std.muli(std).reshape(channels));
        } else {
            var = c.constant("var", channels);
        }
        SDVariable gamma;
        SDVariable beta;
        if (layer.isLockGammaBeta()) {
            gamma = c.graph().constant(c.inner("gamma"), Nd4j.valueArrayOf(new long[] {channels}, layer.getGamma(),
                    c.param("mean").dataType()));
            beta = c.graph().constant(c.inner("beta"), Nd4j.valueArrayOf(new long[] {channels}, layer.getBeta(),
                    c.param("mean").dataType()));
        } else {
            gamma = c.constant("gamma", channels);
            beta = c.constant("beta", channels);
        }
        return new Tensor(c.graph().nn.batchNorm(c.name(), input.variable(), mean, var, gamma, beta, layer.getEps(), 1),
                input.rank());
    }
}
