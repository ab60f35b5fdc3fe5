package org.quant4j.convert;

import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;

/**
 * Layers and vertices that only wrap another for training: {@link FrozenLayer} and {@link FrozenLayerWithBackprop}
 * (which {@code TransferLearning} puts around the layers it freezes) and {@link FrozenVertex}. At inference they
 * compute what the wrapped one computes, with its parameters (DL4J's wrapper layers hand out the inner layer's
 * parameter table), so the converter converts the wrapped one.
 */
final class Wrappers {

    private Wrappers() {
    }

    /** The layer a frozen wrapper holds (through any number of wrappers), or the layer itself. */
    static Layer unwrap(Layer layer) {
        Layer l = layer;
        while (true) {
            if (l instanceof FrozenLayer f) {
                l = f.getLayer();
            } else if (l instanceof FrozenLayerWithBackprop f) {
                l = f.getUnderlying();
            } else {
                return l;
            }
        }
    }

    /** The vertex a {@link FrozenVertex} holds (through any number of them), or the vertex itself. */
    static GraphVertex unwrap(GraphVertex vertex) {
        GraphVertex v = vertex;
        while (v instanceof FrozenVertex f) {
            v = f.getUnderlying();
        }
        return v;
    }

    /** The layer's type for messages: {@code ConvolutionLayer}, or {@code FrozenLayer(ConvolutionLayer)}. */
    static String typeName(Layer layer) {
        Layer inner = unwrap(layer);
        return inner == layer ? layer.getClass().getSimpleName()
                : layer.getClass().getSimpleName() + "(" + inner.getClass().getSimpleName() + ")";
    }
}
