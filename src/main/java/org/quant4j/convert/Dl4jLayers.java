package org.quant4j.convert;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Consecutive layers of a MultiLayerNetwork (or a chain of layer vertices of a ComputationGraph) that the converter
 * does not support, run in DL4J in fp32 between the
 * quantized parts of a model ({@code QuantizationOptions.keepUnsupportedLayersFp32}).
 *
 * <p>Each layer is instantiated from a clone of its configuration over a copy of its parameters, as DL4J does when
 * it loads a network, so the user's network is neither kept nor changed. A call runs, per layer, its input
 * preprocessor (with the network input's batch size, which DL4J's recurrent preprocessors need to fold time steps
 * back out of the batch) and then the layer's inference forward pass ({@code activate(x, false)}), without
 * workspaces. Calls are serialized: DL4J layers keep their input between calls.
 */
public final class Dl4jLayers {

    /** A layer by its index in the network, its name and its type. */
    public record Layer(int index, String name, String type) {
    }

    /**
     * One layer as a model file stores it: its configuration (DL4J's JSON), its input preprocessor (or null) and its
     * parameters (a row vector, DL4J's flattened order; null for a layer without parameters).
     */
    public record Stored(Layer layer, NeuralNetConfiguration configuration, InputPreProcessor preprocessor,
            INDArray parameters) {
    }

    private final List<Layer> described;
    private final List<NeuralNetConfiguration> configurations;
    private final List<org.deeplearning4j.nn.api.Layer> layers;
    private final List<InputPreProcessor> preprocessors;
    private final DataType dataType;

    private Dl4jLayers(List<Layer> described, List<NeuralNetConfiguration> configurations,
            List<org.deeplearning4j.nn.api.Layer> layers, List<InputPreProcessor> preprocessors, DataType dataType) {
        this.described = List.copyOf(described);
        this.configurations = List.copyOf(configurations);
        this.layers = layers;
        this.preprocessors = preprocessors;
        this.dataType = dataType;
    }

    /**
     * Layers from what a model file stored, instantiated as DL4J does when it loads a network.
     *
     * @throws RuntimeException what DL4J throws for a configuration it cannot instantiate
     */
    public static Dl4jLayers of(List<Stored> stored, DataType dataType) {
        List<Layer> described = new ArrayList<>();
        List<NeuralNetConfiguration> configurations = new ArrayList<>();
        List<org.deeplearning4j.nn.api.Layer> layers = new ArrayList<>();
        List<InputPreProcessor> preprocessors = new ArrayList<>();
        for (Stored s : stored) {
            NeuralNetConfiguration conf = s.configuration().clone();
            layers.add(conf.getLayer().instantiate(conf, List.of(), s.layer().index(), s.parameters(), false,
                    dataType));
            configurations.add(s.configuration().clone());
            preprocessors.add(s.preprocessor());
            described.add(s.layer());
        }
        return new Dl4jLayers(described, configurations, layers, preprocessors, dataType);
    }

    /** The layers as a model file stores them: configurations, preprocessors and copies of the parameters. */
    public synchronized List<Stored> stored() {
        List<Stored> stored = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            org.deeplearning4j.nn.api.Layer layer = layers.get(i);
            stored.add(new Stored(described.get(i), configurations.get(i).clone(), preprocessors.get(i),
                    layer.numParams() == 0 ? null : layer.params().dup()));
        }
        return stored;
    }

    /** The data type of the layers' parameters and activations. */
    public DataType dataType() {
        return dataType;
    }

    /** Copies of the layers {@code from} (inclusive) to {@code to} (exclusive) of {@code net}. */
    public static Dl4jLayers copyOf(MultiLayerNetwork net, int from, int to) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        DataType dataType = conf.getDataType() == null ? DataType.FLOAT : conf.getDataType();
        List<Layer> described = new ArrayList<>();
        List<NeuralNetConfiguration> configurations = new ArrayList<>();
        List<org.deeplearning4j.nn.api.Layer> layers = new ArrayList<>();
        List<InputPreProcessor> preprocessors = new ArrayList<>();
        for (int i = from; i < to; i++) {
            NeuralNetConfiguration layerConf = conf.getConf(i).clone();
            org.deeplearning4j.nn.api.Layer original = net.getLayer(i);
            INDArray params = original.numParams() == 0 ? null : original.params().dup();
            configurations.add(layerConf.clone());
            layers.add(layerConf.getLayer().instantiate(layerConf, List.of(), i, params, false, dataType));
            InputPreProcessor preprocessor = conf.getInputPreProcess(i);
            preprocessors.add(preprocessor == null ? null : preprocessor.clone());
            described.add(new Layer(i, Dl4jConverter.layerName(layerConf.getLayer(), i),
                    layerConf.getLayer().getClass().getSimpleName()));
        }
        return new Dl4jLayers(described, configurations, layers, preprocessors, dataType);
    }

    /**
     * Copies of the layer vertices {@code names} of {@code net}, a chain (each reading the one before it), at positions
     * {@code indices} of its topological order; an error naming a vertex that is not a layer.
     */
    public static Dl4jLayers copyOf(ComputationGraph net, List<String> names, List<Integer> indices) {
        ComputationGraphConfiguration conf = net.getConfiguration();
        DataType dataType = conf.getDataType() == null ? DataType.FLOAT : conf.getDataType();
        List<Layer> described = new ArrayList<>();
        List<NeuralNetConfiguration> configurations = new ArrayList<>();
        List<org.deeplearning4j.nn.api.Layer> layers = new ArrayList<>();
        List<InputPreProcessor> preprocessors = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (!(Wrappers.unwrap(conf.getVertices().get(name)) instanceof LayerVertex vertex)) {
                throw new UnsupportedLayerException("vertex " + indices.get(i) + " '" + name + "' of type "
                        + conf.getVertices().get(name).getClass().getSimpleName() + " is not supported, and only"
                        + " layers can be kept in fp32");
            }
            NeuralNetConfiguration layerConf = vertex.getLayerConf().clone();
            org.deeplearning4j.nn.api.Layer original = net.getLayer(name);
            INDArray params = original.numParams() == 0 ? null : original.params().dup();
            configurations.add(layerConf.clone());
            layers.add(layerConf.getLayer().instantiate(layerConf, List.of(), indices.get(i), params, false, dataType));
            preprocessors.add(vertex.getPreProcessor() == null ? null : vertex.getPreProcessor().clone());
            described.add(new Layer(indices.get(i), name, layerConf.getLayer().getClass().getSimpleName()));
        }
        return new Dl4jLayers(described, configurations, layers, preprocessors, dataType);
    }

    /**
     * The layers' fp32 output for {@code x}, the previous part's output (not changed: DL4J applies some activations
     * in place, so the layers get a copy).
     *
     * @param miniBatch the batch size of the network input {@code x} derives from
     */
    public synchronized INDArray output(INDArray x, long miniBatch) {
        LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();
        INDArray value = x.dup();
        for (int i = 0; i < layers.size(); i++) {
            if (preprocessors.get(i) != null) {
                value = preprocessors.get(i).preProcess(value, (int) miniBatch, workspaces);
            }
            value = layers.get(i).activate(value, false, workspaces);
        }
        for (org.deeplearning4j.nn.api.Layer layer : layers) {
            layer.clear(); // drop the input each layer kept
        }
        return value;
    }

    /** The layers, by index in the network, name and type. */
    public List<Layer> layers() {
        return described;
    }
}
