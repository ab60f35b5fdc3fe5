package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Global pooling of sequences [N, C, T] under DL4J's feature mask m [N, T] (its MaskedReductionUtil): AVG
 * {@code sum_t x m / sum_t m}, SUM {@code sum_t x m}, MAX over the unmasked steps (masked steps pushed to
 * {@code -Float.MAX_VALUE}), PNORM {@code (sum_t |x m|^p)^(1/p)}.
 */
final class MaskedPooling {

    private MaskedPooling() {
    }

    static Tensor apply(LayerContext<GlobalPoolingLayer> c, Tensor input, SDVariable mask) {
        GlobalPoolingLayer layer = c.layer();
        int[] dims = layer.getPoolingDimensions();
        if (input.rank() != 3 || dims != null && dims.length > 0 && !(dims.length == 1 && dims[0] == 2)) {
            throw new UnsupportedLayerException(c.where() + ": global pooling under a feature mask is supported over"
                    + " the time steps of [N, C, T] only (input rank " + input.rank() + ")");
        }
        SameDiff sd = c.graph();
        boolean keep = !layer.isCollapseDimensions();
        SDVariable m = sd.expandDims(c.inner("mask"), mask, 1);
        SDVariable x = input.variable();
        SDVariable masked = sd.math.mul(c.inner("masked"), x, m);
        SDVariable out = switch (layer.getPoolingType()) {
            case AVG -> sd.math.div(c.name(), sd.sum(masked, keep, 2), sd.sum(m, keep, 2));
            case SUM -> sd.sum(c.name(), masked, keep, 2);
            case MAX -> sd.max(c.name(), sd.math.sub(x, sd.math.rsub(m, 1.0).mul(Float.MAX_VALUE)), keep, 2);
            case PNORM -> {
                double p = layer.getPnorm();
                SDVariable powered = sd.math.pow(sd.math.abs(masked), p);
                yield sd.math.pow(c.name(), sd.sum(powered, keep, 2), 1.0 / p);
            }
            default -> throw new UnsupportedLayerException(c.where() + ": pooling type " + layer.getPoolingType()
                    + " is not supported");
        };
        return new Tensor(out, keep ? 3 : 2);
    }
}
