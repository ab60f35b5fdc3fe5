package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.AbstractLSTM;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * LSTM and GravesLSTM (peepholes), unrolled over the sequence's time steps (T, fixed when the network is converted:
 * {@link Sequences#steps}).
 *
 * <p>DL4J (LSTMHelpers) computes, per step, {@code z_t = x_t W + h_{t-1} RW + b}, its 4 nOut columns in the order
 * [block input a, forget f, output o, input gate i]; {@code c_t = f c_{t-1} + i act(a)}, {@code h_t = o act(c_t)},
 * the gates through the gate activation (sigmoid by default), {@code act} the layer's activation; h and c start at
 * zero. GravesLSTM adds peepholes, three more columns of RW: {@code wFF c_{t-1}} to f, {@code wGG c_{t-1}} to i and
 * {@code wOO c_t} to o. A feature mask [N, T] multiplies h_t and c_t at every step (zero state after a masked step)
 * where DL4J M2.1 applies it: in a layer wrapped by LastTimeStep or MaskZeroLayer; a layer on its own computes the
 * same outputs with and without a mask (both measured: {@code RecurrentConvertersTest}).
 *
 * <p>The graph: the input-to-hidden products of every step as one {@code xw_plus_b} over the time-major rows
 * [T N, nIn] (a dense layer to quantization: W per gate column, the input per feature), then per step
 * {@code z_t = P_t + h_{t-1} RW} as a {@code matmul}, all T - 1 of them reading the one constant RW (a shared
 * weight, quantized on its own per gate column: {@code graph.QuantizableOps#weightOnly}), and the gates
 * written out. The output stacks the h_t: [N, nOut, T] (NCW) or [N, T, nOut] (NWC). Variables: {@code <layer>/W},
 * {@code /RW}, {@code /b}, {@code /preact}, and {@code <layer>/t<step>/...} per step.
 */
final class LstmConverter implements LayerConverter<AbstractLSTM> {

    @Override
    public Tensor convert(LayerContext<AbstractLSTM> c, Tensor input) {
        AbstractLSTM layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        RNNFormat format = layer.getRnnDataFormat();
        int steps = Sequences.steps(c, input, format);
        long nOut = layer.getNOut();
        INDArray recurrent = c.param("RW");
        SDVariable rw = sd.constant(c.name() + "/RW",
                recurrent.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4 * nOut)).dup('c'));
        SDVariable peepholeF = null;
        SDVariable peepholeO = null;
        SDVariable peepholeI = null;
        if (layer instanceof GravesLSTM) {
            peepholeF = sd.constant(c.name() + "/peephole_f", row(recurrent, 4 * nOut));
            peepholeO = sd.constant(c.name() + "/peephole_o", row(recurrent, 4 * nOut + 1));
            peepholeI = sd.constant(c.name() + "/peephole_i", row(recurrent, 4 * nOut + 2));
        }
        SDVariable[] projections = Sequences.inputProjections(c, input, format, steps, 4 * nOut);
        SDVariable[] mask = c.wrapper() instanceof LastTimeStep || c.wrapper() instanceof MaskZeroLayer
                ? Sequences.stepMasks(c, steps) : null;
        SDVariable[] outputs = new SDVariable[steps];
        SDVariable h = null;
        SDVariable cell = null;
        for (int t = 0; t < steps; t++) {
            String step = c.inner("t" + t) + "/";
            SDVariable z = h == null ? projections[t]
                    : sd.math.add(step + "z", projections[t], sd.mmul(step + "recurrent", h, rw));
            SDVariable a = activation(c, layer.getActivationFn(), gate(z, 0, nOut), step + "a");
            SDVariable f = gate(z, 1, nOut);
            SDVariable i = gate(z, 3, nOut);
            if (peepholeF != null && cell != null) {
                f = sd.math.add(f, sd.math.mul(cell, peepholeF));
                i = sd.math.add(i, sd.math.mul(cell, peepholeI));
            }
            f = activation(c, layer.getGateActivationFn(), f, step + "f");
            i = activation(c, layer.getGateActivationFn(), i, step + "i");
            SDVariable gated = sd.math.mul(i, a);
            cell = cell == null ? gated : sd.math.add(step + "c", sd.math.mul(f, cell), gated);
            SDVariable o = gate(z, 2, nOut);
            if (peepholeO != null) {
                o = sd.math.add(o, sd.math.mul(cell, peepholeO));
            }
            o = activation(c, layer.getGateActivationFn(), o, step + "o");
            h = sd.math.mul(step + "h", o, activation(c, layer.getActivationFn(), cell, step + "act_c"));
            if (mask != null) {
                h = sd.math.mul(step + "h_masked", h, mask[t]);
                cell = sd.math.mul(step + "c_masked", cell, mask[t]);
            }
            outputs[t] = h;
        }
        return new Tensor(Sequences.stack(sd, c.name(), outputs, format), 3);
    }

    /** Column block {@code block} (of 4, each nOut wide) of the gate pre-activations {@code z}. */
    private static SDVariable gate(SDVariable z, int block, long nOut) {
        return z.get(SDIndex.all(), SDIndex.interval(block * nOut, (block + 1) * nOut));
    }

    private static SDVariable activation(LayerContext<?> c, org.nd4j.linalg.activations.IActivation fn, SDVariable x,
            String name) {
        return ActivationFunctions.apply(c.graph(), name, fn, x, c.where(), 2);
    }

    /** Column {@code index} of {@code m} as a [1, rows] row vector. */
    private static INDArray row(INDArray m, long index) {
        return m.getColumn(index).dup('c').reshape(1, m.size(0));
    }
}
