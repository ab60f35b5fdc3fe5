package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * MaskZeroLayer: the wrapped recurrent layer under a feature mask computed from its input, as DL4J does:
 * {@code m[n, t] = 0} where every feature of step t of example n equals the masking value, else 1. The mask applies to
 * the wrapped layer only ({@link Sequences#withMask}); the layers after it see the network's mask, as in DL4J.
 */
final class MaskZeroConverter implements LayerConverter<MaskZeroLayer> {

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Tensor convert(LayerContext<MaskZeroLayer> c, Tensor input) {
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        Layer underlying = c.layer().getUnderlying();
        RNNFormat format = underlying instanceof BaseRecurrentLayer r ? r.getRnnDataFormat() : RNNFormat.NCW;
        int featureAxis = format == RNNFormat.NWC ? 2 : 1;
        SDVariable x = input.variable();
        SDVariable equal = sd.eq(x, c.layer().getMaskingValue()).castTo(x.dataType());
        SDVariable features = sd.sizeAt(x, featureAxis).castTo(x.dataType());
        SDVariable mask = sd.neq(sd.sum(equal, featureAxis), features).castTo(x.dataType());
        SDVariable named = sd.identity(c.inner("mask"), mask);
        LayerConverter converter = LayerConverters.require(underlying, c.index(), c.name());
        return Sequences.withMask(sd, named, () -> converter.convert(c.wrapped(underlying, c.name()), input));
    }
}
