package org.quant4j.graph;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A network as a SameDiff graph, with what the rest of the pipeline needs to know about it.
 *
 * @param graph        the SameDiff graph (owned by quant4j: never the user's own instance)
 * @param inputs       the placeholders fed with features, in the order of the data set's feature arrays
 * @param outputs      the variables returned as the network's outputs, in order
 * @param layerOutputs the variables that stand for "layers" in reports (per-layer SQNR), in graph order,
 *                     each with the layer's name
 * @param kernelTaps   the weights that hold structural zeros (dilated kernels spelled out undilated), by variable:
 *                     their statistics are those of their taps only
 */
public record ModelGraph(SameDiff graph, List<TensorSpec> inputs, List<String> outputs, List<LayerOutput> layerOutputs,
        Map<String, KernelTaps> kernelTaps) {

    public ModelGraph {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        layerOutputs = List.copyOf(layerOutputs);
        kernelTaps = Map.copyOf(kernelTaps);
    }

    /** A graph whose weights hold no structural zeros. */
    public ModelGraph(SameDiff graph, List<TensorSpec> inputs, List<String> outputs, List<LayerOutput> layerOutputs) {
        this(graph, inputs, outputs, layerOutputs, Map.of());
    }

    /** A layer of the original network and the graph variable holding its output. */
    public record LayerOutput(String layer, String type, String variable) {
    }

    /**
     * A deep copy whose graph can be rewritten without touching this one ({@link GraphCopy}: this graph must not run
     * on another thread meanwhile).
     */
    public ModelGraph copy() {
        return new ModelGraph(GraphCopy.of(graph), inputs, outputs, layerOutputs, kernelTaps);
    }

    /**
     * A copy sharing the arrays named in {@code shared} with this graph, every other array duplicated
     * ({@link GraphCopy#of(SameDiff, java.util.Set)}): for a rewrite that replaces those arrays.
     */
    public ModelGraph copySharing(java.util.Set<String> shared) {
        return new ModelGraph(GraphCopy.of(graph, shared), inputs, outputs, layerOutputs, kernelTaps);
    }
}
