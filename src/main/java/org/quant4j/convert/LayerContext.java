package org.quant4j.convert;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.KernelTaps;

/**
 * What a {@link LayerConverter} needs: the graph under construction, the layer's configuration and a read-only
 * view of its parameters. Parameters enter the graph as copies, so the user's network never shares memory with
 * the graph that quant4j rewrites.
 *
 * @param <L> the layer configuration type
 */
public final class LayerContext<L extends Layer> {

    private final SameDiff graph;
    private final String name;
    private final int index;
    private final L layer;
    private final Map<String, INDArray> params;
    private final Map<String, KernelTaps> kernelTaps;
    private Layer wrapper;

    /** @param kernelTaps where this conversion records the weights that hold structural zeros (written to) */
    LayerContext(SameDiff graph, String name, int index, L layer, Map<String, INDArray> params,
            Map<String, KernelTaps> kernelTaps) {
        this.graph = graph;
        this.name = name;
        this.index = index;
        this.layer = layer;
        this.params = params;
        this.kernelTaps = kernelTaps;
    }

    public SameDiff graph() {
        return graph;
    }

    /** The layer's name, also the name of its output variable. */
    public String name() {
        return name;
    }

    /** The layer's position in the network (MultiLayerNetwork index, or vertex index in a ComputationGraph). */
    public int index() {
        return index;
    }

    public L layer() {
        return layer;
    }

    /** Where the layer is, for error messages: {@code layer 3 'conv2' (ConvolutionLayer)}. */
    public String where() {
        return "layer " + index + " '" + name + "' (" + layer.getClass().getSimpleName() + ")";
    }

    /** Whether the layer has the parameter {@code key}. */
    public boolean hasParam(String key) {
        return params.containsKey(key);
    }

    /**
     * The parameter {@code key} as a graph constant named {@code <layer>/<key>}, copied (C order) and reshaped.
     *
     * @param shape the shape the graph needs, or none to keep the parameter's shape
     */
    public SDVariable constant(String key, long... shape) {
        INDArray value = params.get(key);
        if (value == null) {
            throw new UnsupportedLayerException(where() + " has no parameter '" + key + "' (has " + params.keySet() + ")");
        }
        INDArray copy = value.dup('c');
        if (shape.length > 0) {
            copy = copy.reshape('c', shape);
        }
        return graph.constant(name + "/" + key, copy);
    }

    /** The raw parameter (not copied): for reading only. */
    public INDArray param(String key) {
        INDArray value = params.get(key);
        if (value == null) {
            throw new UnsupportedLayerException(where() + " has no parameter '" + key + "' (has " + params.keySet() + ")");
        }
        return value;
    }

    /** Records that the weight {@code variable} holds structural zeros and where its taps are. */
    void kernelTaps(String variable, KernelTaps taps) {
        kernelTaps.put(variable, taps);
    }

    /**
     * The context of a layer that this one wraps (LastTimeStep's underlying layer, say): the same graph, parameters
     * and index, the name {@code name}.
     */
    <M extends Layer> LayerContext<M> wrapped(M inner, String name) {
        LayerContext<M> context = new LayerContext<>(graph, name, index, inner, params, kernelTaps);
        context.wrapper = layer;
        return context;
    }

    /**
     * The context of one of the layers that this one holds (Bidirectional's forward and backward layers), whose
     * parameters are this layer's with {@code prefix} (e.g. {@code f}: {@code fW} becomes {@code W}).
     */
    <M extends Layer> LayerContext<M> held(M inner, String name, String prefix) {
        Map<String, INDArray> own = new java.util.LinkedHashMap<>();
        params.forEach((key, value) -> {
            if (key.startsWith(prefix)) {
                own.put(key.substring(prefix.length()), value);
            }
        });
        LayerContext<M> context = new LayerContext<>(graph, name, index, inner, own, kernelTaps);
        context.wrapper = layer;
        return context;
    }

    /**
     * The context of one of the layers that this one holds, under its own names for this layer's parameters:
     * {@code renames} maps the inner layer's parameter names to this layer's (GravesBidirectionalLSTM's {@code W} is
     * its {@code WF}).
     */
    <M extends Layer> LayerContext<M> renamed(M inner, String name, Map<String, String> renames) {
        Map<String, INDArray> own = new java.util.LinkedHashMap<>();
        renames.forEach((innerKey, key) -> {
            if (params.containsKey(key)) {
                own.put(innerKey, params.get(key));
            }
        });
        LayerContext<M> context = new LayerContext<>(graph, name, index, inner, own, kernelTaps);
        context.wrapper = layer;
        return context;
    }

    /** The layer that wraps this one (LastTimeStep, ...), or null. */
    public Layer wrapper() {
        return wrapper;
    }

    /** A fresh, unique name for an intermediate variable of this layer. */
    public String inner(String suffix) {
        return name + "/" + suffix;
    }
}
