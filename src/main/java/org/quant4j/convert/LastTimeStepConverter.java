package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * LastTimeStep: the wrapped recurrent layer (converted under the name {@code <layer>/sequence}, parameters
 * {@code <layer>/sequence/W}, ...), then its output at the last time step, [N, nOut]: {@code y[:, :, T - 1]} for NCW,
 * {@code y[:, T - 1, :]} for NWC.
 */
final class LastTimeStepConverter implements LayerConverter<LastTimeStep> {

    @Override
    public Tensor convert(LayerContext<LastTimeStep> c, Tensor input) {
        Layer underlying = c.layer().getUnderlying();
        Tensor sequence = convertUnderlying(c, underlying, input);
        RNNFormat format = underlying instanceof BaseRecurrentLayer r ? r.getRnnDataFormat() : RNNFormat.NCW;
        return new Tensor(lastStep(c, sequence.variable(), format, c.name()), 2);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static Tensor convertUnderlying(LayerContext<?> c, Layer underlying, Tensor input) {
        LayerConverter converter = LayerConverters.require(underlying, c.index(), c.name() + "/sequence");
        return converter.convert(c.wrapped(underlying, c.inner("sequence")), input);
    }

    /** The last time step of the sequence {@code y}, [N, F]. */
    static SDVariable lastStep(LayerContext<?> c, SDVariable y, RNNFormat format, String name) {
        int timeAxis = format == RNNFormat.NWC ? 1 : 2;
        long[] begin = {0, 0, 0};
        begin[timeAxis] = -1;
        int allBut = 7 & ~(1 << timeAxis);
        return c.graph().stridedSlice(name, y, begin, new long[] {0, 0, 0}, new long[] {1, 1, 1}, allBut, 7, 0, 0,
                1 << timeAxis);
    }
}
