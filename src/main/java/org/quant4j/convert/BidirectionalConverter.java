package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Bidirectional: the forward layer on the sequence ({@code <layer>/fwd}, parameters {@code fW}, {@code fRW}, ...),
 * the backward layer on the sequence reversed in time and its output reversed back ({@code <layer>/bwd}), combined
 * as DL4J's mode says: ADD, MUL, AVERAGE, or CONCAT along the features (axis 1 of NCW, 2 of NWC).
 */
final class BidirectionalConverter implements LayerConverter<Bidirectional> {

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Tensor convert(LayerContext<Bidirectional> c, Tensor input) {
        Bidirectional layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        if (Sequences.mask(sd) != null) {
            throw new UnsupportedLayerException(c.where() + ": feature masks are not supported in a bidirectional"
                    + " layer yet (give calibration batches without masks)");
        }
        Layer fwd = layer.getFwd();
        Layer bwd = layer.getBwd();
        RNNFormat format = fwd instanceof BaseRecurrentLayer r ? r.getRnnDataFormat() : RNNFormat.NCW;
        int timeAxis = format == RNNFormat.NWC ? 1 : 2;
        LayerConverter forward = LayerConverters.require(fwd, c.index(), c.inner("fwd"));
        LayerConverter backward = LayerConverters.require(bwd, c.index(), c.inner("bwd"));
        SDVariable f = forward.convert(c.held(fwd, c.inner("fwd"), "f"), input).variable();
        SDVariable reversed = sd.reverse(c.inner("reversed"), input.variable(), timeAxis);
        SDVariable b = backward.convert(c.held(bwd, c.inner("bwd"), "b"), new Tensor(reversed, 3)).variable();
        SDVariable back = sd.reverse(c.inner("bwd_forward_in_time"), b, timeAxis);
        SDVariable out = switch (layer.getMode()) {
            case ADD -> sd.math.add(c.name(), f, back);
            case MUL -> sd.math.mul(c.name(), f, back);
            case AVERAGE -> sd.math.mul(c.name(), sd.math.add(f, back), 0.5);
            case CONCAT -> sd.concat(c.name(), format == RNNFormat.NWC ? 2 : 1, f, back);
        };
        return new Tensor(out, 3);
    }
}
