package org.quant4j.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationException;

/**
 * Runs the ops that read one quantization point on their own, fed with any values for the point and any weights: what
 * it takes to measure a quantization of one point without running the network up to it again.
 *
 * <p>It is a copy of the fp32 graph in which every op that reads a point tensor reads a placeholder
 * ({@code <tensor>#probe}) instead, and every quantizable op reads its weight from a placeholder
 * ({@code <weight>#probe}). Asking for a consumer's output then runs only the ops between the point and the consumer
 * (a flatten, say) and the consumer itself, with the bias and every other constant of the graph. A point is also read
 * by ops without weights that take its quantized values as they are (a residual add, say): its
 * {@linkplain #otherReaders other readers}, which run the same way, their other inputs computed from the fp32 values
 * of the points they come from.
 *
 * <p>Safe for concurrent use (each run takes its own session, {@link GraphExecution}).
 */
public final class ConsumerProbe {

    private final SameDiff sd;
    private final List<String> points;
    private final Map<String, List<String>> otherReaders = new HashMap<>();

    private ConsumerProbe(SameDiff sd, List<String> points) {
        this.sd = sd;
        this.points = points;
    }

    /**
     * The probe of {@code fp32} for {@code ops}, whose activations are read at {@code points} (one point tensor per
     * op, in the same order; a point may be a graph input).
     */
    public static ConsumerProbe of(ModelGraph fp32, List<QuantizableOp> ops, List<String> points) {
        if (ops.size() != points.size()) {
            throw new IllegalArgumentException(ops.size() + " ops but " + points.size() + " points");
        }
        ConsumerProbe probe = new ConsumerProbe(fp32.graph().dup(), List.copyOf(new LinkedHashSet<>(points)));
        SameDiff sd = probe.sd;
        Map<String, Set<String>> consumerPaths = new HashMap<>(); // point -> ops from it to its consumers
        for (int i = 0; i < ops.size(); i++) {
            Set<String> path = consumerPaths.computeIfAbsent(points.get(i), p -> new HashSet<>());
            path.addAll(opsBetween(fp32.graph(), points.get(i), ops.get(i)));
        }
        for (String point : probe.points) {
            List<String> readers = readers(sd, point);
            List<String> others = new ArrayList<>();
            for (String reader : readers) {
                if (!consumerPaths.get(point).contains(reader)) {
                    others.add(sd.getOps().get(reader).getOutputsOfOp().get(0));
                }
            }
            probe.otherReaders.put(point, List.copyOf(others));
            redirect(sd, point, pointInput(point), readers);
        }
        for (QuantizableOp op : ops) {
            redirect(sd, op.weight(), weightInput(op.weight()), List.of(op.op()));
        }
        return probe;
    }

    /** The point tensors, each once, in the order given. */
    public List<String> points() {
        return points;
    }

    /**
     * The outputs of the ops other than quantizable consumers that read {@code point} directly (a residual add, say;
     * not the ops between the point and a consumer, such as a flatten before a dense layer).
     */
    public List<String> otherReaders(String point) {
        List<String> others = otherReaders.get(point);
        if (others == null) {
            throw new IllegalArgumentException("'" + point + "' is not a point of the probe");
        }
        return others;
    }

    /**
     * The values of {@code variables} when each point holds {@code pointValues.get(point)} and each quantizable op's
     * weight is {@code weights.get(weight)}; a run reads only the points and weights its variables depend on.
     */
    public Map<String, INDArray> outputs(Map<String, INDArray> pointValues, Map<String, INDArray> weights,
            List<String> variables) {
        Map<String, INDArray> feed = new HashMap<>();
        pointValues.forEach((point, value) -> feed.put(pointInput(point), value));
        weights.forEach((weight, value) -> feed.put(weightInput(weight), value));
        return GraphExecution.output(sd, feed, variables);
    }

    /** The ops that lead from {@code point} to {@code op}'s data input (transparent ops: a flatten, a max pooling). */
    private static List<String> opsBetween(SameDiff sd, String point, QuantizableOp op) {
        List<String> between = new ArrayList<>(List.of(op.op()));
        String tensor = op.activation();
        while (!tensor.equals(point)) {
            String producer = sd.getVariables().get(tensor).getOutputOfOp();
            if (producer == null) {
                throw new QuantizationException("op '" + op.op() + "' does not read point '" + point + "'");
            }
            between.add(producer);
            tensor = sd.getOps().get(producer).getInputsToOp().get(0);
        }
        return between;
    }

    private static String pointInput(String tensor) {
        return tensor + "#probe";
    }

    private static String weightInput(String weight) {
        return weight + "#probe";
    }

    private static List<String> readers(SameDiff sd, String tensor) {
        var variable = sd.getVariables().get(tensor);
        if (variable == null) {
            throw new QuantizationException("the graph has no tensor '" + tensor + "'");
        }
        return variable.getInputsForOp() == null ? List.of() : List.copyOf(variable.getInputsForOp());
    }

    /** Makes each of {@code opNames} read a new placeholder named {@code placeholder} wherever it read {@code from}. */
    private static void redirect(SameDiff sd, String from, String placeholder, List<String> opNames) {
        SDVariable original = sd.getVariable(from);
        SDVariable input = sd.hasVariable(placeholder) ? sd.getVariable(placeholder)
                : sd.placeHolder(placeholder, original.dataType(), (long[]) null);
        for (String name : new LinkedHashSet<>(opNames)) {
            SameDiffOp op = sd.getOps().get(name);
            List<String> inputs = op.getInputsToOp();
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i).equals(from)) {
                    sd.replaceArgFor(i, input, op.getOp());
                }
            }
        }
    }
}
