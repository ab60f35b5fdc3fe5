package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * RnnOutputLayer: a dense layer applied at every time step, {@code act(x_t W + b)}, its activation (softmax by
 * default) over the features. As DL4J computes it: the sequence as time-major rows [T * N, nIn], one {@code xw_plus_b}
 * (or {@code matmul} without bias: quantized as any dense layer), then back to [N, nOut, T] (NCW) or [N, T, nOut].
 */
final class RnnOutputLayerConverter implements LayerConverter<RnnOutputLayer> {

    @Override
    public Tensor convert(LayerContext<RnnOutputLayer> c, Tensor input) {
        RnnOutputLayer layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        RNNFormat format = layer.getRnnDataFormat();
        SDVariable rows = Sequences.toRows(sd, c.inner("rows"), input.variable(), format, layer.getNIn());
        SDVariable w = c.constant("W");
        SDVariable z = c.hasParam("b")
                ? sd.nn.linear(c.inner("preact"), rows, w, c.constant("b", layer.getNOut()))
                : sd.mmul(c.inner("preact"), rows, w);
        SDVariable activated = ActivationFunctions.apply(sd, c.inner("activated"), layer.getActivationFn(), z,
                c.where(), 2);
        return new Tensor(Sequences.fromRows(sd, c.name(), activated, format, input.variable()), 3);
    }
}
