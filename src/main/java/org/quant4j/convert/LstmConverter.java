package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.AbstractLSTM;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMActivations;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMDataFormat;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMDirectionMode;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.config.LSTMLayerConfig;
import org.nd4j.linalg.api.ops.impl.layers.recurrent.weights.LSTMLayerWeights;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * LSTM and GravesLSTM (peepholes) as one libnd4j {@code lstmLayer} op over the whole sequence, any length.
 *
 * <p>DL4J (LSTMHelpers) computes, per step, {@code z = x_t W + h_{t-1} RW + b} with the 4 nOut columns in the order
 * [block input a, forget f, output o, input gate i]: {@code c_t = f c_{t-1} + i act(a)}, {@code h_t = o act(c_t)},
 * the gates through the gate activation (sigmoid by default) and {@code act} the layer's activation (tanh by default).
 * GravesLSTM adds peepholes, three more columns of RW: {@code wFF c_{t-1}} to f, {@code wGG c_{t-1}} to i and
 * {@code wOO c_t} to o. libnd4j's lstmLayer takes the columns in the order [i, f, a, o] and the peepholes as
 * [i, f, o]; the converter permutes the column blocks of W, RW and b once, at conversion.
 *
 * <p>The op reads the data input {@code x} (op input 0) and the input weights {@code W} (op input 1, [nIn, 4 nOut]),
 * which is what {@code graph.QuantizableOps} needs to quantize it as a matrix product: the activation per input
 * feature (axis 1: NWC input is transposed to NCW first), the weights per gate output column. The recurrent weights are op input 2.
 */
final class LstmConverter implements LayerConverter<AbstractLSTM> {

    /** Where each libnd4j gate block [i, f, a, o] is in DL4J's [a, f, o, i]. */
    private static final int[] DL4J_BLOCK_OF = {3, 1, 0, 2};

    @Override
    public Tensor convert(LayerContext<AbstractLSTM> c, Tensor input) {
        AbstractLSTM layer = c.layer();
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        long nOut = layer.getNOut();
        boolean peepholes = layer instanceof GravesLSTM;
        INDArray recurrent = c.param("RW");
        INDArray rw = recurrent.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4 * nOut));
        SDVariable w = sd.constant(c.name() + "/W", gateOrder(c.param("W"), nOut));
        SDVariable r = sd.constant(c.name() + "/RW", gateOrder(rw, nOut));
        SDVariable b = sd.constant(c.name() + "/b", gateOrder(c.param("b").reshape(1, 4 * nOut), nOut).reshape(4 * nOut));
        LSTMLayerWeights.LSTMLayerWeightsBuilder weights = LSTMLayerWeights.builder().weights(w).rWeights(r).bias(b);
        if (peepholes) {
            // DL4J's columns 4 nOut .. 4 nOut + 2: wFF, wOO, wGG; libnd4j wants [i, f, o] = [wGG, wFF, wOO].
            INDArray p = Nd4j.concat(0, column(recurrent, 4 * nOut + 2), column(recurrent, 4 * nOut),
                    column(recurrent, 4 * nOut + 1));
            weights.peepholeWeights(sd.constant(c.name() + "/peepholes", p));
        }
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        // NWC runs as NST between two transposes: M2.1's oneDNN helper for lstmLayer fails on NTS without peepholes
        // ("object is not initialized", measured here).
        SDVariable x = nwc ? sd.permute(c.inner("ncw"), input.variable(), 0, 2, 1) : input.variable();
        LSTMLayerConfig config = LSTMLayerConfig.builder()
                .lstmdataformat(LSTMDataFormat.NST)
                .directionMode(LSTMDirectionMode.FWD)
                .gateAct(activation(c, layer.getGateActivationFn(), "gate"))
                .cellAct(activation(c, layer.getActivationFn(), "cell"))
                .outAct(activation(c, layer.getActivationFn(), "cell"))
                .retFullSequence(true).retLastH(false).retLastC(false)
                .cellClip(0)
                .build();
        SDVariable[] out = sd.rnn().lstmLayer(new String[] {nwc ? c.inner("ncw_out") : c.name()}, x, null, null, null,
                weights.build(), config);
        return new Tensor(nwc ? sd.permute(c.name(), out[0], 0, 2, 1) : out[0], 3);
    }

    /** The column blocks of {@code m} ([rows, 4 nOut], DL4J order) in libnd4j's order, a C-order copy. */
    private static INDArray gateOrder(INDArray m, long nOut) {
        INDArray[] blocks = new INDArray[4];
        for (int g = 0; g < 4; g++) {
            long from = DL4J_BLOCK_OF[g] * nOut;
            blocks[g] = m.get(NDArrayIndex.all(), NDArrayIndex.interval(from, from + nOut));
        }
        return Nd4j.hstack(blocks).dup('c');
    }

    private static INDArray column(INDArray m, long index) {
        return m.getColumn(index).dup('c').reshape(m.size(0));
    }

    /** The lstmLayer activation equal to DL4J's {@code fn}; an error naming the layer for any other. */
    static LSTMActivations activation(LayerContext<?> c, IActivation fn, String role) {
        if (fn instanceof ActivationSigmoid) {
            return LSTMActivations.SIGMOID;
        }
        if (fn instanceof ActivationTanH) {
            return LSTMActivations.TANH;
        }
        if (fn instanceof ActivationHardSigmoid) {
            return LSTMActivations.HARD_SIGMOID;
        }
        if (fn instanceof ActivationSoftSign) {
            return LSTMActivations.SOFTSIGN;
        }
        if (fn instanceof ActivationSoftPlus) {
            return LSTMActivations.SOFTPLUS;
        }
        if (fn instanceof ActivationReLU relu && relu.getMax() == null
                && (relu.getThreshold() == null || relu.getThreshold() == 0)
                && (relu.getNegativeSlope() == null || relu.getNegativeSlope() == 0)) {
            return LSTMActivations.RELU;
        }
        throw new UnsupportedLayerException(c.where() + ": " + role + " activation " + fn + " is not supported in a"
                + " recurrent layer (supported: sigmoid, tanh, hard sigmoid, softsign, softplus, relu)");
    }
}
