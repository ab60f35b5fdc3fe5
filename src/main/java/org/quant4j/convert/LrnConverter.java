package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.LocalResponseNormalizationConfig;

/**
 * LocalResponseNormalization across channels, as DL4J computes it:
 * <pre>  y_c = x_c * (k + alpha * sum_{j = c - n/2 .. c + n/2} x_j^2)^(-beta)</pre>
 * (n/2 rounded down; channels outside 0..C-1 count as 0; alpha is not divided by n). SameDiff's {@code lrn} op
 * computes the same over the last axis with depth n/2, so the converter runs it on NHWC and permutes back.
 */
final class LrnConverter implements LayerConverter<LocalResponseNormalization> {

    @Override
    public Tensor convert(LayerContext<LocalResponseNormalization> c, Tensor input) {
        LocalResponseNormalization layer = c.layer();
        Cnn.requireNchw(c, input, layer.getDataFormat());
        SameDiff sd = c.graph();
        LocalResponseNormalizationConfig config = LocalResponseNormalizationConfig.builder()
                .alpha(layer.getAlpha()).beta(layer.getBeta()).bias(layer.getK()).depth((int) layer.getN() / 2).build();
        SDVariable nhwc = sd.permute(c.inner("nhwc"), input.variable(), 0, 2, 3, 1);
        SDVariable normalized = sd.cnn.localResponseNormalization(c.inner("lrn"), nhwc, config);
        return new Tensor(sd.permute(c.name(), normalized, 0, 3, 1, 2), 4);
    }
}
