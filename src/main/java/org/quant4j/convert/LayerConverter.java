package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.Layer;

/**
 * Translates one DL4J layer type into SameDiff operations that compute exactly what DL4J computes at inference.
 *
 * @param <L> the DL4J layer configuration class this converter handles
 */
@FunctionalInterface
public interface LayerConverter<L extends Layer> {

    /**
     * Adds the layer's operations to {@code context.graph()}.
     *
     * @param context the layer, its parameters and the graph being built
     * @param input   the layer's input
     * @return the layer's output, a variable named {@code context.name()}
     */
    Tensor convert(LayerContext<L> context, Tensor input);
}
