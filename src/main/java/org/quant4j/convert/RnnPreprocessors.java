package org.quant4j.convert;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.CnnToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * DL4J's recurrent input preprocessors, with the time-major rows of {@link Sequences} (row {@code t * N + n}):
 * RnnToFeedForward [N, F, T] (or NWC) to [T * N, F]; FeedForwardToRnn back, N read from the network input; CnnToRnn
 * [T * N, C, H, W] (NCHW) flattened to [T * N, C * H * W] and back to a sequence; RnnToCnn the reverse.
 */
final class RnnPreprocessors {

    private RnnPreprocessors() {
    }

    /** Whether this class converts {@code preprocessor} on an input of rank {@code rank}. */
    static boolean handles(InputPreProcessor preprocessor, int rank) {
        return preprocessor instanceof RnnToFeedForwardPreProcessor && rank == 3
                || preprocessor instanceof FeedForwardToRnnPreProcessor
                || preprocessor instanceof CnnToRnnPreProcessor
                || preprocessor instanceof RnnToCnnPreProcessor;
    }

    static Tensor apply(SameDiff sd, String name, InputPreProcessor preprocessor, Tensor input, String where) {
        SDVariable x = input.variable();
        if (preprocessor instanceof RnnToFeedForwardPreProcessor p) {
            return new Tensor(Sequences.toRows(sd, name, x, p.getRnnDataFormat(), -1), 2);
        }
        if (preprocessor instanceof FeedForwardToRnnPreProcessor p) {
            require(input, 2, preprocessor, where);
            return new Tensor(Sequences.fromRows(sd, name, x, p.getRnnDataFormat(), Sequences.networkInput(sd, where)),
                    3);
        }
        if (preprocessor instanceof CnnToRnnPreProcessor p) {
            require(input, 4, preprocessor, where);
            long features = p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
            SDVariable rows = sd.reshape(name + "/rows", x, -1, features);
            return new Tensor(Sequences.fromRows(sd, name, rows, p.getRnnDataFormat(), Sequences.networkInput(sd, where)),
                    3);
        }
        RnnToCnnPreProcessor p = (RnnToCnnPreProcessor) preprocessor;
        require(input, 3, preprocessor, where);
        long features = (long) p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
        SDVariable rows = Sequences.toRows(sd, name + "/rows", x, p.getRnnDataFormat(), features);
        return new Tensor(sd.reshape(name, rows, -1, p.getNumChannels(), p.getInputHeight(), p.getInputWidth()), 4);
    }

    private static void require(Tensor input, int rank, InputPreProcessor preprocessor, String where) {
        if (input.rank() != rank) {
            throw new UnsupportedLayerException(where + ": preprocessor " + preprocessor.getClass().getSimpleName()
                    + " expects a rank " + rank + " input but receives rank " + input.rank());
        }
    }
}
