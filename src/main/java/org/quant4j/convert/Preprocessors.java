package org.quant4j.convert;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * DL4J input preprocessors as reshapes, on the values as DL4J holds them: CnnToFeedForward flattens [N, C, H, W] (or
 * [N, H, W, C] with format NHWC) to [N, C*H*W] in C order; FeedForwardToCnn makes [N, C, H, W] of [N, C*H*W]; both
 * pass through a value that already has the rank they make, as DL4J does ({@link ChannelsLast} keeps an NHWC flatten
 * of a value held channels-first in the graph's order); RnnToFeedForward on an [N, F] input (after a global pooling) leaves it as it is.
 */
final class Preprocessors {

    private Preprocessors() {
    }

    static Tensor apply(SameDiff sd, String name, InputPreProcessor preprocessor, Tensor input, String where) {
        if (preprocessor instanceof CnnToFeedForwardPreProcessor p) {
            if (input.rank() == 2) {
                return input; // DL4J passes a feed-forward input through
            }
            if (input.rank() != 4) {
                throw new UnsupportedLayerException(where + ": preprocessor CnnToFeedForward expects a rank 4 input"
                        + " but receives rank " + input.rank());
            }
            long features = p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
            return new Tensor(sd.reshape(name, input.variable(), -1, features), 2);
        }
        if (preprocessor instanceof FeedForwardToCnnPreProcessor p) {
            if (input.rank() == 4) {
                return input; // DL4J passes an image batch through
            }
            return new Tensor(sd.reshape(name, input.variable(), -1, p.getNumChannels(), p.getInputHeight(),
                    p.getInputWidth()), 4);
        }
        if (preprocessor instanceof RnnToFeedForwardPreProcessor && input.rank() == 2) {
            // DL4J adds it after a global pooling of sequences, whose output is already [N, F]: it then does nothing.
            return input;
        }
        if (RnnPreprocessors.handles(preprocessor, input.rank())) {
            return RnnPreprocessors.apply(sd, name, preprocessor, input, where);
        }
        throw new UnsupportedLayerException(where + ": input preprocessor " + preprocessor.getClass().getSimpleName()
                + " is not supported (supported: CnnToFeedForwardPreProcessor, FeedForwardToCnnPreProcessor,"
                + " RnnToFeedForwardPreProcessor, FeedForwardToRnnPreProcessor, CnnToRnnPreProcessor,"
                + " RnnToCnnPreProcessor)");
    }
}
