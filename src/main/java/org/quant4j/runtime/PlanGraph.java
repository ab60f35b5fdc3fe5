package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/**
 * What the planner asks of the fake-quant graph: who produces and who reads a tensor, which variables are constants
 * or computed from constants alone (the dequantized weights: no steps), the order to visit the ops in, and the
 * shapes of the tensors for one set of input shapes.
 */
final class PlanGraph {

    private final ModelGraph graph;
    private final SameDiff sd;

    PlanGraph(ModelGraph graph) {
        this.graph = graph;
        this.sd = graph.graph();
    }

    SameDiff sd() {
        return sd;
    }

    /** Whether {@code tensor} is one of the graph's outputs. */
    boolean isOutput(String tensor) {
        return graph.outputs().contains(tensor);
    }

    static boolean isConstant(SameDiff sd, String name) {
        SDVariable v = sd.getVariable(name);
        return v != null && (v.getVariableType() == VariableType.CONSTANT
                || v.getVariableType() == VariableType.VARIABLE);
    }

    /** Whether an op's every input is a constant or computed from constants alone (dequantized weights). */
    static boolean constantDerived(SameDiff sd, SameDiffOp op) {
        List<String> in = op.getInputsToOp();
        if (in == null || in.isEmpty()) {
            return true;
        }
        for (String v : in) {
            if (!isConstant(sd, v) && !constantDerivedVariable(sd, v)) {
                return false;
            }
        }
        return true;
    }

    static boolean constantDerivedVariable(SameDiff sd, String name) {
        Variable v = sd.getVariables().get(name);
        if (v == null || v.getOutputOfOp() == null) {
            return false;
        }
        SDVariable var = sd.getVariable(name);
        if (var.getVariableType() == VariableType.PLACEHOLDER) {
            return false;
        }
        return constantDerived(sd, sd.getOps().get(v.getOutputOfOp()));
    }

    SameDiffOp producer(String tensor) {
        Variable v = sd.getVariables().get(tensor);
        return v == null || v.getOutputOfOp() == null ? null : sd.getOps().get(v.getOutputOfOp());
    }

    List<String> readers(String tensor) {
        Variable v = sd.getVariables().get(tensor);
        return v == null || v.getInputsForOp() == null ? List.of() : v.getInputsForOp();
    }

    /** The one op reading {@code tensor}, when exactly one does and it is not a graph output. */
    SameDiffOp onlyReader(String tensor) {
        List<String> r = readers(tensor);
        if (r.size() != 1 || isOutput(tensor)) {
            return null;
        }
        return sd.getOps().get(r.get(0));
    }

    /** The ops that depend on the inputs, in topological order (ties in the graph's op order). */
    List<SameDiffOp> topologicalOrder() {
        List<SameDiffOp> ops = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        for (SameDiffOp op : sd.getOps().values()) {
            if (!constantDerived(sd, op)) {
                index.put(op.getName(), ops.size());
                ops.add(op);
            }
        }
        Map<String, Integer> pending = new HashMap<>();
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (SameDiffOp op : ops) {
            int n = 0;
            for (String in : op.getInputsToOp()) {
                SameDiffOp p = producer(in);
                if (p != null && index.containsKey(p.getName())) {
                    n++;
                }
            }
            pending.put(op.getName(), n);
            if (n == 0) {
                ready.add(index.get(op.getName()));
            }
        }
        List<SameDiffOp> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            SameDiffOp op = ops.get(ready.poll());
            order.add(op);
            for (String out : op.getOutputsOfOp()) {
                for (String reader : readers(out)) {
                    Integer i = index.get(reader);
                    if (i == null) {
                        continue;
                    }
                    int count = 0;
                    for (String in : sd.getOps().get(reader).getInputsToOp()) {
                        if (in.equals(out)) {
                            count++;
                        }
                    }
                    int left = pending.merge(reader, -count, Integer::sum);
                    if (left == 0) {
                        ready.add(i);
                    }
                }
            }
        }
        if (order.size() != ops.size()) {
            throw new Int8Network.UnsupportedInt8Exception("the graph has a cycle (control flow is not supported)");
        }
        return order;
    }

    /** Shapes of every floating-point tensor, from one run of the graph on zeros. */
    Map<String, long[]> shapes(long[][] inputShapes) {
        List<String> names = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            for (String out : op.getOutputsOfOp()) {
                if (sd.getVariable(out).dataType().isFPType()) {
                    names.add(out);
                }
            }
        }
        Map<String, INDArray> feed = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        for (int i = 0; i < inputShapes.length; i++) {
            String name = graph.inputs().get(i).name();
            feed.put(name, Nd4j.zeros(DataType.FLOAT, inputShapes[i]));
            shapes.put(name, inputShapes[i]);
        }
        // Streamed: each tensor's shape read as the run computes it, the tensor then freed (all of them at once were
        // 6 GB for the zoo's UNet at 512 x 512).
        GraphExecution.stream(sd, feed, names, (k, v) -> shapes.put(k, v.shape()));
        return shapes;
    }
}
