package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

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
        RNNFormat format = underlying instanceof BaseRecurrentLayer r ? r.getRnnDataFormat()
                : underlying instanceof Bidirectional b ? b.getRNNDataFormat() : RNNFormat.NCW;
        SDVariable mask = Sequences.mask(c.graph());
        return new Tensor(mask == null ? lastStep(c, sequence.variable(), format, c.name())
                : lastUnmaskedStep(c, sequence.variable(), mask, format, c.name()), 2);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static Tensor convertUnderlying(LayerContext<?> c, Layer underlying, Tensor input) {
        LayerConverter converter = LayerConverters.require(underlying, c.index(), c.name() + "/sequence");
        return converter.convert(c.wrapped(underlying, c.inner("sequence")), input);
    }

    /**
     * With a feature mask, DL4J takes each example's last step whose mask is not 0: {@code t_n = max {t : m[n, t] !=
     * 0}}, picked here by a one-hot row over the steps, {@code sum_t y[n, :, t] onehot(t_n)[t]} (sums of zeros and
     * the one value: exact).
     */
    static SDVariable lastUnmaskedStep(LayerContext<?> c, SDVariable y, SDVariable mask, RNNFormat format,
            String name) {
        SameDiff sd = c.graph();
        int steps = Math.toIntExact(mask.getShape()[1]);
        SDVariable counts = sd.neq(mask, 0.0).castTo(y.dataType());
        SDVariable positions = sd.constant(c.inner("positions"), Nd4j.arange(1, steps + 1).castTo(y.dataType()));
        SDVariable last = sd.argmax(c.inner("last_step"), counts.mul(positions), 1);
        SDVariable oneHot = sd.oneHot(c.inner("last_one_hot"), last, steps).castTo(y.dataType());
        int timeAxis = format == RNNFormat.NWC ? 1 : 2;
        SDVariable selector = sd.expandDims(oneHot, timeAxis == 2 ? 1 : 2);
        return sd.sum(name, y.mul(selector), timeAxis);
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
