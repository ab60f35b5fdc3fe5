package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.quant4j.CustomBidirectionalLstm;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.TestNetworks;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

class Dl4jConverterTest {

    /** max |a - b| / max |b|: the relative error of a whole tensor. */
    static double relativeError(INDArray expected, INDArray actual) {
        assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()));
        double scale = Math.max(expected.amaxNumber().doubleValue(), 1e-12);
        return expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue() / scale;
    }

    @Test
    void everyLayerOfTheCnnMatchesDl4j() {
        MultiLayerNetwork net = TestNetworks.cnn();
        ModelGraph graph = Dl4jConverter.convert(net);
        INDArray x = Nd4j.rand(DataType.FLOAT, 5, 784);
        List<String> variables = graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList();
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("input", x), variables);
        assertEquals(net.getnLayers(), variables.size());
        for (int i = 0; i < variables.size(); i++) {
            // DL4J applies some activations in place, overwriting earlier entries of feedForward's list: so take
            // each layer's activation as the last entry of a forward pass that stops there.
            INDArray expected = net.feedForwardToLayer(i, x, false).get(i + 1);
            double err = relativeError(expected, ours.get(variables.get(i)));
            assertTrue(err < 1e-5, "layer " + variables.get(i) + " differs from DL4J by " + err);
        }
        assertEquals(List.of("conv1", "bn1", "relu1", "pool1", "conv2", "pool2", "drop", "fc1", "out"), variables);
    }

    @Test
    void globalPoolingCnnWithUnnamedLayersMatchesDl4j() {
        MultiLayerNetwork net = TestNetworks.globalPoolingCnn();
        ModelGraph graph = Dl4jConverter.convert(net);
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 3, 16, 16);
        INDArray expected = net.output(x, false);
        INDArray actual = GraphExecution.output(graph.graph(), Map.of("input", x), graph.outputs()).get(graph.outputs().get(0));
        assertTrue(relativeError(expected, actual) < 1e-5, "output differs by " + relativeError(expected, actual));
        assertEquals("layer0", graph.layerOutputs().get(0).layer());
    }

    @Test
    void residualComputationGraphMatchesDl4j() {
        ComputationGraph net = TestNetworks.residualGraph();
        ModelGraph graph = Dl4jConverter.convert(net);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 2, 12, 12);
        Map<String, INDArray> dl4j = net.feedForward(new INDArray[] {x}, false, false);
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("image", x),
                graph.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).toList());
        // DL4J applies activations in place, overwriting the entries of vertices that feed an ActivationLayer;
        // the dense layer and the output are not overwritten.
        for (ModelGraph.LayerOutput layer : graph.layerOutputs()) {
            if (!layer.layer().equals("fc") && !layer.layer().equals("out") && !layer.layer().equals("stem")) {
                continue;
            }
            double err = relativeError(dl4j.get(layer.layer()), ours.get(layer.variable()));
            assertTrue(err < 1e-5, "vertex " + layer.layer() + " differs from DL4J by " + err);
        }
    }

    @Test
    void conversionLeavesTheNetworkUntouched() {
        MultiLayerNetwork net = TestNetworks.cnn();
        INDArray before = net.params().dup();
        ModelGraph graph = Dl4jConverter.convert(net);
        // Scribble over every array of the graph: the network must not notice.
        graph.graph().variables().forEach(v -> {
            if (v.getArr() != null) {
                v.getArr().assign(0);
            }
        });
        assertEquals(before, net.params());
    }

    @Test
    void unsupportedLayerIsNamedWithIndexNameAndType() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(3).build())
                .layer(CustomBidirectionalLstm.of("memory", 3, 3, Activation.TANH))
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> Dl4jConverter.convert(net));
        assertTrue(e.getMessage().contains("layer 1 'memory' of type CustomBidirectionalLstm"), e.getMessage());
    }

    @Test
    void denseNetworkWithoutInputTypeTakesItsInputWidthFromTheFirstLayer() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new DenseLayer.Builder().nIn(6).nOut(5).activation(Activation.SIGMOID).build())
                .layer(new OutputLayer.Builder(org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MSE).nIn(5).nOut(3)
                        .activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        ModelGraph graph = Dl4jConverter.convert(net);
        assertEquals(-1, graph.inputs().get(0).shape()[0]);
        assertEquals(6, graph.inputs().get(0).shape()[1]);
        INDArray x = Nd4j.rand(DataType.FLOAT, 7, 6);
        Map<String, INDArray> feed = new HashMap<>();
        feed.put("input", x);
        INDArray actual = GraphExecution.output(graph.graph(), feed, graph.outputs()).get(graph.outputs().get(0));
        assertTrue(relativeError(net.output(x), actual) < 1e-5);
    }
}
