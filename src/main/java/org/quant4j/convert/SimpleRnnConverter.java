package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * SimpleRnn, unrolled over the time steps as {@link LstmConverter} is: {@code h_t = act(x_t W + b + h_{t-1} RW)},
 * h starting at zero; the input products of all steps one {@code xw_plus_b}, the recurrent products one
 * {@code matmul} per step on the shared RW [nOut, nOut]. A feature mask multiplies h_t at every step, as DL4J's
 * SimpleRnn does (unlike its LSTM, which applies the mask only when LastTimeStep wraps it). Layer normalization is
 * refused.
 */
final class SimpleRnnConverter implements LayerConverter<SimpleRnn> {

    @Override
    public Tensor convert(LayerContext<SimpleRnn> c, Tensor input) {
        SimpleRnn layer = c.layer();
        Cnn.requireSequence(c, input);
        if (layer.isHasLayerNorm()) {
            throw new UnsupportedLayerException(c.where() + ": layer normalization is not supported yet");
        }
        SameDiff sd = c.graph();
        RNNFormat format = layer.getRnnDataFormat();
        int steps = Sequences.steps(c, input, format);
        SDVariable rw = c.constant("RW");
        SDVariable[] projections = Sequences.inputProjections(c, input, format, steps, layer.getNOut());
        SDVariable[] mask = Sequences.stepMasks(c, steps);
        SDVariable[] outputs = new SDVariable[steps];
        SDVariable h = null;
        for (int t = 0; t < steps; t++) {
            String step = c.inner("t" + t) + "/";
            SDVariable z = h == null ? projections[t]
                    : sd.math.add(step + "z", projections[t], sd.mmul(step + "recurrent", h, rw));
            h = ActivationFunctions.apply(sd, step + "h", layer.getActivationFn(), z, c.where(), 2);
            if (mask != null) {
                h = sd.math.mul(step + "h_masked", h, mask[t]);
            }
            outputs[t] = h;
        }
        return new Tensor(Sequences.stack(sd, c.name(), outputs, format), 3);
    }
}
