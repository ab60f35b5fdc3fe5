package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * GlobalPoolingLayer: MAX, AVG, SUM or PNORM ({@code (sum |x|^p)^(1/p)}) over the spatial dimensions (2, 3 of
 * NCHW, or 2 of [N, C, T]); with collapseDimensions the result is [N, C].
 */
final class GlobalPoolingConverter implements LayerConverter<GlobalPoolingLayer> {

    @Override
    public Tensor convert(LayerContext<GlobalPoolingLayer> c, Tensor input) {
        GlobalPoolingLayer layer = c.layer();
        SDVariable mask = Sequences.mask(c.graph());
        if (mask != null && input.rank() == 3) {
            return MaskedPooling.apply(c, input, mask);
        }
        int[] dims = layer.getPoolingDimensions();
        if (dims == null || dims.length == 0) {
            dims = switch (input.rank()) {
                case 4 -> new int[] {2, 3};
                case 3 -> new int[] {2};
                default -> throw new UnsupportedLayerException(c.where() + " expects a rank 3 or 4 input but receives"
                        + " rank " + input.rank());
            };
        }
        boolean keep = !layer.isCollapseDimensions();
        SameDiff sd = c.graph();
        SDVariable x = input.variable();
        SDVariable out = switch (layer.getPoolingType()) {
            case MAX -> sd.max(c.name(), x, keep, dims);
            case AVG -> sd.mean(c.name(), x, keep, dims);
            case SUM -> sd.sum(c.name(), x, keep, dims);
            case PNORM -> {
                double p = layer.getPnorm();
                SDVariable powered = sd.math.pow(c.inner("pow"), sd.math.abs(c.inner("abs"), x), p);
                yield sd.math.pow(c.name(), sd.sum(c.inner("sum"), powered, keep, dims), 1.0 / p);
            }
            default -> throw new UnsupportedLayerException(c.where() + ": pooling type " + layer.getPoolingType()
                    + " is not supported");
        };
        return new Tensor(out, keep ? input.rank() : input.rank() - dims.length);
    }
}
