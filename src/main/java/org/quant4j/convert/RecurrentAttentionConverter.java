package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * RecurrentAttentionLayer, unrolled over the time steps as DL4J defines it: {@code h_0 = act(x_0 W + b)} and
 * {@code h_t = act(x_t W + b + attn(h_{t-1}) RW)}, where {@code attn(h_{t-1})} is the {@link Attention} of the one
 * query h_{t-1} over the whole input sequence (keys and values: the input; projections when the layer projects its
 * input), the feature mask masking the keys. The input products of every step are one {@code xw_plus_b}
 * ({@link Sequences#inputProjections}); the keys' and values' projections are computed once; the per-step products
 * by Wq, Wo and RW share their constants (quantized weight only, as an LSTM's RW). Output [N, nOut, T].
 */
final class RecurrentAttentionConverter implements LayerConverter<RecurrentAttentionLayer> {

    @Override
    public Tensor convert(LayerContext<RecurrentAttentionLayer> c, Tensor input) {
        RecurrentAttentionLayer layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        int steps = Sequences.steps(c, input, RNNFormat.NCW);
        SDVariable x = input.variable();
        SDVariable rw = c.constant("RW");
        SDVariable[] projections = Sequences.inputProjections(c, input, RNNFormat.NCW, steps, layer.getNOut());
        Attention attention = new Attention(sd, c.name(),
                SelfAttentionConverter.projections(c, layer.isProjectInput()), layer.getNIn());
        Attention.KeysValues kv = attention.keysValues(c.name(), x, x, steps);
        SDVariable mask = Sequences.mask(sd);
        SDVariable[] outputs = new SDVariable[steps];
        SDVariable h = null;
        for (int t = 0; t < steps; t++) {
            String step = c.inner("t" + t) + "/";
            SDVariable z = projections[t];
            if (h != null) {
                SDVariable attended = attention.attend(step + "attention", h, 1, kv, mask);
                z = sd.math.add(step + "z", z, sd.mmul(step + "recurrent", attended, rw));
            }
            h = ActivationFunctions.apply(sd, step + "h", layer.getActivation().getActivationFunction(), z, c.where(),
                    2);
            outputs[t] = h;
        }
        return new Tensor(Sequences.stack(sd, c.name(), outputs, RNNFormat.NCW), 3);
    }
}
