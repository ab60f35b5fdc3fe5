package org.quant4j.graph;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationException;

/**
 * Runs the quantizable ops that read one quantization point on their own, fed with any values for the point and
 * any weights: what it takes to measure a quantization of one point without running the network up to it again.
 *
 * <p>It is a copy of the fp32 graph in which every op that reads a point tensor reads a placeholder
 * ({@code <tensor>#probe}) instead, and every quantizable op reads its weight from a placeholder
 * ({@code <weight>#probe}). Asking for a consumer's output then runs only the ops between the point and the consumer
 * (a flatten, say) and the consumer itself, with the bias and every other constant of the graph.
 *
 * <p>Safe for concurrent use (each run takes its own session, {@link GraphExecution}).
 */
public final class ConsumerProbe {

    private final SameDiff sd;

    private ConsumerProbe(SameDiff sd) {
        this.sd = sd;
    }

    /**
     * The probe of {@code fp32} for {@code ops}, whose activations are read at {@code points} (one point tensor per
     * op, in the same order; a point may be a graph input).
     */
    public static ConsumerProbe of(ModelGraph fp32, List<QuantizableOp> ops, List<String> points) {
        if (ops.size() != points.size()) {
            throw new IllegalArgumentException(ops.size() + " ops but " + points.size() + " points");
        }
        SameDiff sd = GraphCopy.sharingArrays(fp32.graph()); // run only: the weights are fed, never changed
        for (String point : new java.util.LinkedHashSet<>(points)) {
            GraphEditing.redirect(sd, point, pointInput(point), readers(sd, point));
        }
        for (QuantizableOp op : ops) {
            GraphEditing.redirect(sd, op.weight(), weightInput(op.weight()), List.of(op.op()));
        }
        return new ConsumerProbe(sd);
    }

    /**
     * The outputs of {@code consumers} (by output variable) when the point they read holds {@code pointValue} and
     * each consumer's weight is {@code weights.get(op.weight())}.
     */
    public Map<String, INDArray> outputs(String point, INDArray pointValue, Collection<QuantizableOp> consumers,
            Map<String, INDArray> weights) {
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(pointInput(point), pointValue);
        List<String> outputs = new ArrayList<>();
        for (QuantizableOp op : consumers) {
            INDArray w = weights.get(op.weight());
            if (w == null) {
                throw new IllegalArgumentException("no weight given for '" + op.weight() + "' of op '" + op.op() + "'");
            }
            feed.put(weightInput(op.weight()), w);
            outputs.add(op.output());
        }
        return GraphExecution.output(sd, feed, outputs);
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
}
