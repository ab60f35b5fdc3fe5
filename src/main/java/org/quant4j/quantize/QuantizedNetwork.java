package org.quant4j.quantize;

import java.util.List;
import org.quant4j.QuantizationOptions;
import org.quant4j.convert.Dl4jLayers;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.report.QuantizationReport;

/** What the pipeline made: one quantized graph, or a network quantized in parts around layers kept in DL4J. */
public sealed interface QuantizedNetwork {

    QuantizationOptions options();

    List<TensorQuantization> quantizations();

    QuantizationReport report();

    /** One fake-quant graph for the whole network. */
    record Whole(ModelGraph graph, QuantizationOptions options, List<TensorQuantization> quantizations,
            QuantizationReport report) implements QuantizedNetwork {
        public Whole {
            quantizations = List.copyOf(quantizations);
        }
    }

    /**
     * A network quantized in parts ({@link QuantizationOptions#keepUnsupportedLayersFp32}): {@code parts} in
     * network order, each a {@link Whole} or {@link Dl4jLayers}, each reading the previous one's output.
     */
    record InParts(List<Object> parts, TensorSpec input, QuantizationOptions options,
            List<TensorQuantization> quantizations, QuantizationReport report) implements QuantizedNetwork {
        public InParts {
            parts = List.copyOf(parts);
            quantizations = List.copyOf(quantizations);
        }
    }
}
