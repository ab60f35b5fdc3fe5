package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * TimeDistributed: the wrapped feed-forward layer applied to every time step, as rows [T N, F] of the sequence
 * ({@link Sequences#toRows}, in the wrapper's data format), converted under the name {@code <layer>/step}
 * (parameters {@code <layer>/step/W}, ...), and back to a sequence [N, nOut, T] (or [N, T, nOut]).
 */
final class TimeDistributedConverter implements LayerConverter<TimeDistributed> {

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Tensor convert(LayerContext<TimeDistributed> c, Tensor input) {
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        RNNFormat format = c.layer().getRnnDataFormat();
        Layer underlying = c.layer().getUnderlying();
        LayerConverter converter = LayerConverters.require(underlying, c.index(), c.inner("step"));
        SDVariable rows = Sequences.toRows(sd, c.inner("rows"), input.variable(), format, -1);
        Tensor out = converter.convert(c.wrapped(underlying, c.inner("step")), new Tensor(rows, 2));
        if (out.rank() != 2) {
            throw new UnsupportedLayerException(c.where() + ": the wrapped layer gives rank " + out.rank()
                    + " per step; TimeDistributed takes feed-forward layers");
        }
        return new Tensor(Sequences.fromRows(sd, c.name(), out.variable(), format, input.variable()), 3);
    }
}
