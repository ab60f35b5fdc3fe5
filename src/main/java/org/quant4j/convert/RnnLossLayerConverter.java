package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * RnnLossLayer: at inference its activation at every time step over the features (a softmax normalizes each step's
 * features, axis 1 of NCW); the loss plays no part. NWC is transposed to NCW around the activation.
 */
final class RnnLossLayerConverter implements LayerConverter<RnnLossLayer> {

    @Override
    public Tensor convert(LayerContext<RnnLossLayer> c, Tensor input) {
        Cnn.requireSequence(c, input);
        SameDiff sd = c.graph();
        if (c.layer().getRnnDataFormat() != RNNFormat.NWC) {
            return new Tensor(ActivationFunctions.apply(sd, c.name(), c.layer().getActivationFn(), input.variable(),
                    c.where(), 3), 3);
        }
        SDVariable ncw = sd.permute(c.inner("ncw"), input.variable(), 0, 2, 1);
        SDVariable activated = ActivationFunctions.apply(sd, c.inner("activated"), c.layer().getActivationFn(), ncw,
                c.where(), 3);
        return new Tensor(sd.permute(c.name(), activated, 0, 2, 1), 3);
    }
}
