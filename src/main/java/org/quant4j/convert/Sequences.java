package org.quant4j.convert;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.preprocessor.RnnToCnnPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.TensorSpec;

/**
 * Sequences [N, F, T] (NCW, DL4J's default) or [N, T, F] (NWC) to rows and back, as DL4J lays them out: a sequence
 * becomes the rows [T * N, F] in time-major order (row {@code t * N + n}; DL4J's {@code reshape('f')} of [N, T, F]),
 * so that a layer applied per time step sees the rows DL4J's feed-forward layers see.
 */
final class Sequences {

    /** The name of the feature-mask input of a network converted with masks ([N, T]). */
    static final String MASK = "input_mask";

    /** The mask of the layer being converted on this thread when a wrapper computes one ({@link #withMask}). */
    private static final ThreadLocal<Map.Entry<SameDiff, SDVariable>> SCOPED_MASK = new ThreadLocal<>();

    /** A constant that nothing reads, there once the mask no longer applies to the layers converted next. */
    private static final String MASK_CLEARED = MASK + "/cleared";

    private Sequences() {
    }

    /**
     * [N, F, T] or [N, T, F] as the rows [T * N, F]; {@code features} is F, or -1 when not known. Computed as the
     * transpose of [F, T * N] so that the last op is a transpose, not a reshape: a quantization point moves upstream
     * through a reshape before a dense layer, taking it for a channel-major flatten, which these rows are not.
     */
    static SDVariable toRows(SameDiff sd, String name, SDVariable x, RNNFormat format, long features) {
        SDVariable featureMajor = sd.permute(name + "/feature_major", x, format == RNNFormat.NWC ? new int[] {2, 1, 0}
                : new int[] {1, 2, 0});
        SDVariable flat = features > 0 ? sd.reshape(name + "/flat", featureMajor, features, -1)
                : sd.reshape(name + "/flat", featureMajor, sd.concat(0, dimension(sd, featureMajor, 0),
                        sd.constant(Nd4j.createFromArray(-1L))));
        return sd.permute(name, flat, 1, 0);
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
     * The input of a network whose first layer is {@code first} (after {@code preprocessor}, or null), when it
     * reads sequences: [N, nIn, T] (NCW) or [N, T, nIn] (NWC), T = {@code steps}, unknown sizes -1; indices [N, 1]
     * for an EmbeddingLayer, [N, T] for an EmbeddingSequenceLayer; null when the network reads none of these.
     */
    static TensorSpec inputSpec(String name, Layer first, InputPreProcessor preprocessor, long steps) {
        if (preprocessor == null && first instanceof EmbeddingLayer) {
            return new TensorSpec(name, new long[] {-1, 1});
        }
        if (preprocessor == null && first instanceof EmbeddingSequenceLayer e) {
            long t = steps > 0 ? steps : e.isInferInputLength() || e.getInputLength() <= 0 ? -1 : e.getInputLength();
            return new TensorSpec(name, new long[] {-1, t});
        }
        RNNFormat format = format(first, preprocessor);
        if (format == null) {
            return null;
        }
        long features = -1;
        Layer layer = unwrapped(first);
        if (preprocessor instanceof RnnToCnnPreProcessor p) {
            features = (long) p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
        } else if (layer instanceof FeedForwardLayer f && f.getNIn() > 0) {
            features = f.getNIn();
        } else if (layer instanceof Bidirectional b && b.getNIn() > 0) {
            features = b.getNIn();
        } else if (attentionNIn(layer) > 0) {
            features = attentionNIn(layer);
        }
        long t = steps > 0 ? steps : -1;
        return new TensorSpec(name, format == RNNFormat.NWC ? new long[] {-1, t, features}
                : new long[] {-1, features, t});
    }

    /**
     * The data format of the sequences a network whose first layer is {@code first} (after {@code preprocessor})
     * reads; null when it does not read sequences.
     */
    static RNNFormat format(Layer first, InputPreProcessor preprocessor) {
        if (preprocessor != null) {
            return preprocessor instanceof RnnToCnnPreProcessor p ? p.getRnnDataFormat() : null;
        }
        if (first instanceof TimeDistributed t) {
            return t.getRnnDataFormat();
        }
        Layer layer = unwrapped(first);
        if (layer instanceof BaseRecurrentLayer r) {
            return r.getRnnDataFormat();
        }
        if (layer instanceof Bidirectional b) {
            return b.getRNNDataFormat();
        }
        if (layer instanceof RnnOutputLayer r) {
            return r.getRnnDataFormat();
        }
        if (isAttention(layer)) {
            return RNNFormat.NCW;
        }
        if (layer instanceof RnnLossLayer r) {
            return r.getRnnDataFormat();
        }
        return null;
    }

    /** The layer that LastTimeStep, MaskZeroLayer or TimeDistributed wraps; any other layer itself. */
    static Layer unwrapped(Layer layer) {
        if (layer instanceof LastTimeStep last) {
            return unwrapped(last.getUnderlying());
        }
        if (layer instanceof MaskZeroLayer m) {
            return unwrapped(m.getUnderlying());
        }
        return layer instanceof TimeDistributed t ? t.getUnderlying() : layer;
    }

    /** Whether {@code layer} is one of DL4J's attention layers (they read sequences [N, nIn, T], NCW only). */
    static boolean isAttention(Layer layer) {
        return layer instanceof SelfAttentionLayer || layer instanceof LearnedSelfAttentionLayer
                || layer instanceof RecurrentAttentionLayer;
    }

    /** The nIn of an attention layer; -1 for any other layer. */
    private static long attentionNIn(Layer layer) {
        if (layer instanceof SelfAttentionLayer a) {
            return a.getNIn();
        }
        if (layer instanceof LearnedSelfAttentionLayer a) {
            return a.getNIn();
        }
        return layer instanceof RecurrentAttentionLayer a ? a.getNIn() : -1;
    }

    /**
     * The number of time steps of the sequence {@code input} (in {@code format}), found by running the graph built
     * so far on one example of zeros: every network input's shape must be known but for the batch size. A recurrent
     * layer is unrolled over its steps, so they are fixed when the network is converted.
     */
    static int steps(LayerContext<?> c, Tensor input, RNNFormat format) {
        return Math.toIntExact(shape(c.graph(), c.where(), input)[format == RNNFormat.NWC ? 1 : 2]);
    }

    /**
     * The shape of {@code input} for one example, found as {@link #steps} finds it.
     *
     * @param where the layer or vertex, for the error message
     */
    static long[] shape(SameDiff sd, String where, Tensor input) {
        Map<String, INDArray> feed = new HashMap<>();
        for (SDVariable p : sd.inputs().stream().map(sd::getVariable).toList()) {
            long[] shape = p.getShape() == null ? null : p.getShape().clone();
            for (int d = 1; shape != null && d < shape.length; d++) {
                if (shape[d] < 0) {
                    shape = null;
                }
            }
            if (shape == null || shape.length == 0) {
                throw new UnsupportedLayerException(where + " is unrolled over the time steps, so the sequence"
                        + " length must be known: network input '" + p.name() + "' has shape "
                        + (p.getShape() == null ? "unknown" : Arrays.toString(p.getShape()))
                        + "; convert with Dl4jConverter.convert(net, sequenceLength) (Quantizer takes it from the"
                        + " first calibration batch)");
            }
            shape[0] = 1;
            feed.put(p.name(), Nd4j.zeros(p.dataType(), shape));
        }
        String name = input.variable().name();
        return feed.containsKey(name) ? feed.get(name).shape()
                : GraphExecution.output(sd, feed, List.of(name)).get(name).shape();
    }

    /**
     * The products {@code x_t W + b} of every step of {@code input} at once, as one {@code xw_plus_b} over the
     * time-major rows ({@code <layer>/preact}, [T N, width]), split into the T steps' [N, width].
     */
    static SDVariable[] inputProjections(LayerContext<?> c, Tensor input, RNNFormat format, int steps, long width) {
        SameDiff sd = c.graph();
        SDVariable rows = toRows(sd, c.inner("rows"), input.variable(), format, -1);
        SDVariable w = c.constant("W");
        SDVariable p = c.hasParam("b") ? sd.nn.linear(c.inner("preact"), rows, w, c.constant("b", width))
                : sd.mmul(c.inner("preact"), rows, w);
        SDVariable perStep = sd.reshape(c.inner("preact_steps"), p, steps, -1, width);
        String[] names = new String[steps];
        for (int t = 0; t < steps; t++) {
            names[t] = c.inner("t" + t) + "/p";
        }
        return sd.unstack(names, perStep, 0, steps);
    }

    /** The feature mask of each step as [N, 1], or null when the network takes no mask. */
    static SDVariable[] stepMasks(LayerContext<?> c, int steps) {
        SameDiff sd = c.graph();
        SDVariable mask = mask(sd);
        if (mask == null) {
            return null;
        }
        String[] names = new String[steps];
        for (int t = 0; t < steps; t++) {
            names[t] = c.inner("t" + t) + "/mask_step";
        }
        SDVariable[] perStep = sd.unstack(names, mask, 1, steps);
        SDVariable[] columns = new SDVariable[steps];
        for (int t = 0; t < steps; t++) {
            columns[t] = sd.expandDims(c.inner("t" + t) + "/mask", perStep[t], 1);
        }
        return columns;
    }

    /** The network's feature mask [N, T] (DL4J's: 1 for a step that counts, 0 for padding), or null without one. */
    static SDVariable mask(SameDiff sd) {
        Map.Entry<SameDiff, SDVariable> scoped = SCOPED_MASK.get();
        if (scoped != null && scoped.getKey() == sd) {
            return scoped.getValue();
        }
        return sd.hasVariable(MASK) && !sd.hasVariable(MASK_CLEARED) ? sd.getVariable(MASK) : null;
    }

    /**
     * Runs {@code conversion} (of a wrapped layer) with {@code mask} [N, T] as the feature mask that
     * {@link #mask} gives for {@code sd} (MaskZeroLayer's mask, computed from its input), then restores the mask before.
     */
    static <T> T withMask(SameDiff sd, SDVariable mask, java.util.function.Supplier<T> conversion) {
        Map.Entry<SameDiff, SDVariable> before = SCOPED_MASK.get();
        SCOPED_MASK.set(Map.entry(sd, mask));
        try {
            return conversion.get();
        } finally {
            if (before == null) {
                SCOPED_MASK.remove();
            } else {
                SCOPED_MASK.set(before);
            }
        }
    }

    /**
     * Marks the feature mask as no longer applying to the layers converted after this point (DL4J's
     * {@code feedForwardMaskArray} giving null: LearnedSelfAttentionLayer, whose output steps are its queries).
     */
    static void clearMask(SameDiff sd) {
        if (!sd.hasVariable(MASK_CLEARED)) {
            sd.constant(MASK_CLEARED, Nd4j.scalar(0f));
        }
    }

    /** The steps' outputs [N, F] as one sequence: [N, F, T] (NCW) or [N, T, F] (NWC). */
    static SDVariable stack(SameDiff sd, String name, SDVariable[] steps, RNNFormat format) {
        return sd.stack(name, format == RNNFormat.NWC ? 1 : 2, steps);
    }

    /** The graph's network input (its first placeholder): its first dimension is the batch size. */
    static SDVariable networkInput(SameDiff sd, String where) {
        return sd.variables().stream().filter(SDVariable::isPlaceHolder).findFirst().orElseThrow(
                () -> new UnsupportedLayerException(where + ": the graph has no input to read the batch size from"));
    }
}
