package org.quant4j.runtime;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.GraphExecution;

/**
 * An fp32 island run through SameDiff: the op alone, in the islands graph (whose ops read their non-constant inputs
 * from placeholders), fed with the plan's arrays.
 */
final class SameDiffIslandStep extends PlanStep {

    private final SameDiff graph;
    private final Map<String, Value> feed;
    private final List<String> names;
    private final List<Value> outs;

    /**
     * @param feed  the values to feed, by placeholder
     * @param names the op's outputs
     * @param outs  the plan's values for them, in order
     */
    SameDiffIslandStep(String label, SameDiff graph, Map<String, Value> feed, List<String> names, List<Value> outs) {
        super(label, feed.values().stream().mapToInt(Value::slot).toArray());
        this.graph = graph;
        this.feed = feed;
        this.names = names;
        this.outs = outs;
    }

    // No madeArrays(): closing the arrays SameDiff returned made 2 of 8,000 concurrent calls differ
    // (ConcurrencyTest), as if a pooled session still used them; they are left to the garbage collector.

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        Map<String, INDArray> placeholders = new HashMap<>();
        feed.forEach((ph, v) -> placeholders.put(ph, (INDArray) s[v.slot()]));
        Map<String, INDArray> result = GraphExecution.output(graph, placeholders, names);
        for (Value v : outs) {
            s[v.slot()] = result.get(v.name());
        }
    }
}
