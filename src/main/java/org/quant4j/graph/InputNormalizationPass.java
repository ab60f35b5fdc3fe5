package org.quant4j.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.InputNormalization;
import org.quant4j.QuantizationException;

/**
 * Builds an input normalization into a graph: for the input {@code x}, the ops {@code x:centred = x - x:norm_offset}
 * and {@code x:normalized = x:centred * x:norm_multiplier} (constants shaped to broadcast along axis 1: {@code [1, K]}
 * for an {@code [N, F]} input, {@code [1, K, 1, 1]} for an image input; all ones for a single value), and every op
 * that read {@code x} reads {@code x:normalized} instead. The placeholder keeps its name and shape, so the graph
 * takes raw data; everything after (calibration, quantization points, the int8 plan, saving) sees ordinary ops. The
 * normalized value is a quantization point like any other when a quantized op reads it.
 */
public final class InputNormalizationPass {

    private static final String OFFSET = ":norm_offset";
    private static final String MULTIPLIER = ":norm_multiplier";
    private static final String CENTRED = ":centred";
    private static final String NORMALIZED = ":normalized";

    private InputNormalizationPass() {
    }

    /** The constant holding the offsets of input {@code input}. */
    public static String offsetName(String input) {
        return input + OFFSET;
    }

    /** The constant holding the multipliers of input {@code input}. */
    public static String multiplierName(String input) {
        return input + MULTIPLIER;
    }

    /** The normalized input, what the network's first ops read. */
    public static String normalizedName(String input) {
        return input + NORMALIZED;
    }

    /**
     * Inserts {@code normalization} after the graph's input (the graph is changed in place); an error naming the
     * input when the graph has several inputs, or when the normalization's values do not match the input's axis 1.
     */
    public static void insert(ModelGraph model, InputNormalization normalization) {
        if (model.inputs().size() != 1) {
            throw new QuantizationException("an input normalizer applies to a network with one input; this one has "
                    + model.inputs().size() + " (" + model.inputs() + ")");
        }
        TensorSpec input = model.inputs().get(0);
        long[] shape = input.shape();
        int k = normalization.size();
        if (k > 1 && (shape == null || shape.length < 2 || shape[1] != k)) {
            throw new QuantizationException("input normalizer " + normalization.normalizer() + " has " + k
                    + " values (one per feature or channel), but the network's input '" + input.name() + "' has shape "
                    + input.shapeText() + (shape != null && shape.length >= 2 && shape[1] >= 0 ? " with " + shape[1]
                    + " on axis 1" : ", axis 1 not fixed") + ": was the normalizer fitted on this network's data?");
        }
        SameDiff sd = model.graph();
        Variable v = sd.getVariables().get(input.name());
        if (v == null) {
            throw new QuantizationException("the graph has no input '" + input.name() + "'");
        }
        if (sd.hasVariable(normalizedName(input.name()))) {
            throw new QuantizationException("the graph's input '" + input.name() + "' is already normalized (it has"
                    + " '" + normalizedName(input.name()) + "')");
        }
        List<String> outputs = sd.outputs() == null ? List.of() : sd.outputs();
        if (outputs.contains(input.name())) {
            throw new QuantizationException("the graph's input '" + input.name() + "' is also its output: nothing to"
                    + " normalize for");
        }
        List<String> readers = v.getInputsForOp() == null ? List.of() : new ArrayList<>(v.getInputsForOp());
        SDVariable x = sd.getVariable(input.name());
        DataType type = x.dataType();
        long[] constantShape = constantShape(shape == null ? 2 : shape.length, k);
        SDVariable offset = sd.constant(offsetName(input.name()),
                Nd4j.create(normalization.offset(), constantShape, 'c').castTo(type));
        SDVariable multiplier = sd.constant(multiplierName(input.name()),
                Nd4j.create(normalization.multiplier(), constantShape, 'c').castTo(type));
        SDVariable centred = sd.math.sub(input.name() + CENTRED, x, offset);
        SDVariable normalized = sd.math.mul(normalizedName(input.name()), centred, multiplier);
        for (String opName : new java.util.LinkedHashSet<>(readers)) {
            var op = sd.getOps().get(opName);
            List<String> args = op.getInputsToOp();
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).equals(input.name())) {
                    sd.replaceArgFor(i, normalized, op.getOp());
                }
            }
        }
    }

    /** {@code [1, k, 1, ...]} of the input's rank (at least 2). */
    static long[] constantShape(int rank, int k) {
        long[] s = new long[Math.max(2, rank)];
        Arrays.fill(s, 1);
        s[1] = k;
        return s;
    }

    /**
     * The offsets and multipliers built into {@code graph} for input {@code input}, as flat arrays, or empty when it
     * has none; an error when only one of the two constants is there.
     */
    public static Optional<float[][]> find(SameDiff graph, String input) {
        boolean hasOffset = graph.hasVariable(offsetName(input));
        boolean hasMultiplier = graph.hasVariable(multiplierName(input));
        if (!hasOffset && !hasMultiplier) {
            return Optional.empty();
        }
        if (hasOffset != hasMultiplier) {
            throw new QuantizationException("the graph has '" + (hasOffset ? offsetName(input) : multiplierName(input))
                    + "' without '" + (hasOffset ? multiplierName(input) : offsetName(input)) + "'");
        }
        INDArray o = graph.getVariable(offsetName(input)).getArr();
        INDArray m = graph.getVariable(multiplierName(input)).getArr();
        if (o == null || m == null) {
            throw new QuantizationException("the graph's input normalization constants of '" + input + "' hold no"
                    + " values");
        }
        return Optional.of(new float[][] {o.castTo(DataType.FLOAT).data().asFloat(),
                m.castTo(DataType.FLOAT).data().asFloat()});
    }
}
