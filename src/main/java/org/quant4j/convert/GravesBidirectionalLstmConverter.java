package org.quant4j.convert;

import java.util.Map;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.GravesBidirectionalLSTM;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * GravesBidirectionalLSTM: two GravesLSTMs (peepholes) converted as {@link LstmConverter} does, the forward one on
 * the sequence ({@code <layer>/fwd}, DL4J's parameters {@code WF}, {@code RWF}, {@code bF}), the backward one on the
 * sequence reversed in time and its output reversed back ({@code <layer>/bwd}, {@code WB}, {@code RWB},
 * {@code bB}); DL4J adds the two. Feature masks are refused, as for {@link BidirectionalConverter}.
 */
final class GravesBidirectionalLstmConverter implements LayerConverter<GravesBidirectionalLSTM> {

    private static final LstmConverter LSTM = new LstmConverter();

    @Override
    public Tensor convert(LayerContext<GravesBidirectionalLSTM> c, Tensor input) {
        GravesBidirectionalLSTM layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        if (Sequences.mask(sd) != null) {
            throw new UnsupportedLayerException(c.where() + ": feature masks are not supported in a bidirectional"
                    + " layer yet (give calibration batches without masks)");
        }
        RNNFormat format = layer.getRnnDataFormat();
        GravesLSTM direction = new GravesLSTM.Builder().nIn(layer.getNIn()).nOut(layer.getNOut())
                .activation(layer.getActivationFn()).gateActivationFunction(layer.getGateActivationFn())
                .dataFormat(format).build();
        int timeAxis = format == RNNFormat.NWC ? 1 : 2;
        SDVariable f = LSTM.convert(c.renamed(direction, c.inner("fwd"), Map.of("W", "WF", "RW", "RWF", "b", "bF")),
                input).variable();
        SDVariable reversed = sd.reverse(c.inner("reversed"), input.variable(), timeAxis);
        SDVariable b = LSTM.convert(c.renamed(direction, c.inner("bwd"), Map.of("W", "WB", "RW", "RWB", "b", "bB")),
                new Tensor(reversed, 3)).variable();
        SDVariable back = sd.reverse(c.inner("bwd_forward_in_time"), b, timeAxis);
        return new Tensor(sd.math.add(c.name(), f, back), 3);
    }
}
