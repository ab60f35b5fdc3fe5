package org.quant4j.convert;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/** Every layer of a converted network against DL4J's own activations. */
final class LayerParity {

    private LayerParity() {
    }

    /** The largest relative error ({@link Dl4jConverterTest#relativeError}) of any layer's output, for input x. */
    static double maxLayerError(MultiLayerNetwork net, INDArray x) {
        ModelGraph graph = Dl4jConverter.convert(net, Dl4jConverter.sequenceLength(net, x));
        List<String> variables = graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList();
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("input", x), variables);
        if (variables.size() != net.getnLayers()) {
            throw new AssertionError(variables.size() + " layer outputs for " + net.getnLayers() + " layers");
        }
        double worst = 0;
        for (int i = 0; i < variables.size(); i++) {
            // DL4J may apply activations in place and return views with unusual strides: the last entry of a
            // forward pass that stops at the layer, as a C-order copy.
            INDArray expected = net.feedForwardToLayer(i, x.dup(), false).get(i + 1).dup('c');
            worst = Math.max(worst, Dl4jConverterTest.relativeError(expected, ours.get(variables.get(i))));
        }
        INDArray output = net.output(x.dup(), false);
        INDArray last = ours.get(variables.get(variables.size() - 1));
        return Math.max(worst, Dl4jConverterTest.relativeError(output.dup('c'), last));
    }
}
