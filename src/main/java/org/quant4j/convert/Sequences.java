package org.quant4j.convert;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.preprocessor.RnnToCnnPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.TensorSpec;

/**
 * Sequences [N, F, T] (NCW, DL4J's default) or [N, T, F] (NWC) to rows and back, as DL4J lays them out: a sequence
 * becomes the rows [T * N, F] in time-major order (row {@code t * N + n}; DL4J's {@code reshape('f')} of [N, T, F]),
 * so that a layer applied per time step sees the rows DL4J's feed-forward layers see.
 */
final class Sequences {

    private Sequences() {
    }

    /** [N, F, T] or [N, T, F] as the rows [T * N, F]; {@code features} is F, or -1 when not known. */
    static SDVariable toRows(SameDiff sd, String name, SDVariable x, RNNFormat format, long features) {
        SDVariable timeMajor = sd.permute(name + "/time_major", x, format == RNNFormat.NWC ? new int[] {1, 0, 2}
                : new int[] {2, 0, 1});
        if (features > 0) {
            return sd.reshape(name, timeMajor, -1, features);
        }
        return sd.reshape(name, timeMajor, sd.concat(0, sd.constant(Nd4j.createFromArray(-1L)),
                dimension(sd, timeMajor, 2)));
    }

    /**
     * The rows [T * N, F] back as a sequence in {@code format}; {@code batchSource} is any array whose first
     * dimension is N (the layer's own input, or the network's).
     */
    static SDVariable fromRows(SameDiff sd, String name, SDVariable rows, RNNFormat format, SDVariable batchSource) {
        SDVariable shape = sd.concat(0, sd.constant(Nd4j.createFromArray(-1L)), dimension(sd, batchSource, 0),
                dimension(sd, rows, 1));
        SDVariable timeMajor = sd.reshape(name + "/time_major", rows, shape);
        return sd.permute(name, timeMajor, format == RNNFormat.NWC ? new int[] {1, 0, 2} : new int[] {1, 2, 0});
    }

    /** Dimension {@code axis} of {@code x} as a LONG vector of one element. */
    private static SDVariable dimension(SameDiff sd, SDVariable x, int axis) {
        return sd.shape(x).get(SDIndex.interval(axis, axis + 1)).castTo(DataType.LONG);
    }

    /**
     * The input of a network whose first layer is {@code first}, when that layer reads sequences: [N, nIn, T] (NCW)
     * or [N, T, nIn] (NWC), the unknown sizes -1; null for any other layer.
     */
    static TensorSpec inputSpec(String name, Layer first) {
        Layer layer = first instanceof LastTimeStep last ? last.getUnderlying() : first;
        RNNFormat format;
        long features;
        if (layer instanceof BaseRecurrentLayer r) {
            format = r.getRnnDataFormat();
            features = r.getNIn();
        } else if (layer instanceof RnnOutputLayer r) {
            format = r.getRnnDataFormat();
            features = r.getNIn();
        } else if (layer instanceof RnnLossLayer r) {
            format = r.getRnnDataFormat();
            features = -1;
        } else {
            return null;
        }
        long f = features > 0 ? features : -1;
        return new TensorSpec(name, format == RNNFormat.NWC ? new long[] {-1, -1, f} : new long[] {-1, f, -1});
    }

    /** The input of a network whose first preprocessor is {@code preprocessor} (RnnToCnn); null for any other. */
    static TensorSpec inputSpec(String name, InputPreProcessor preprocessor) {
        if (preprocessor instanceof RnnToCnnPreProcessor p) {
            long f = (long) p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
            return new TensorSpec(name, p.getRnnDataFormat() == RNNFormat.NWC ? new long[] {-1, -1, f}
                    : new long[] {-1, f, -1});
        }
        return null;
    }

    /** The graph's network input (its first placeholder): its first dimension is the batch size. */
    static SDVariable networkInput(SameDiff sd, String where) {
        return sd.variables().stream().filter(SDVariable::isPlaceHolder).findFirst().orElseThrow(
                () -> new UnsupportedLayerException(where + ": the graph has no input to read the batch size from"));
    }
}
