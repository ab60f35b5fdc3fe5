package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/** AttentionVertex against DL4J (fp32, relative error below 1e-5): self- and cross-attention, projected or not. */
class AttentionVertexTest {

    private static final int FEATURES = 5;
    private static final int STEPS = 6;

    static Stream<Arguments> vertices() {
        return Stream.of(
                Arguments.of("self-attention, 2 heads", new AttentionVertex.Builder().nInQueries(6).nInKeys(6)
                        .nInValues(6).nOut(8).nHeads(2).projectInput(true).build(), false),
                Arguments.of("cross-attention, 3 heads of 3", new AttentionVertex.Builder().nInQueries(6).nInKeys(4)
                        .nInValues(4).nOut(5).nHeads(3).headSize(3).projectInput(true).build(), true),
                Arguments.of("self-attention without projection", new AttentionVertex.Builder().nInQueries(6)
                        .nInKeys(6).nInValues(6).nOut(6).nHeads(1).projectInput(false).build(), false));
    }

    /**
     * An LSTM giving the queries (and keys and values for self-attention; a second LSTM of 4 units gives them for
     * cross-attention), the vertex, average pooling and a classifier; and a per-step output on the vertex.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("vertices")
    void attentionVertexMatchesDl4j(String name, AttentionVertex vertex, boolean cross) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().seed(151).graphBuilder()
                .addInputs("in")
                .addLayer("q", new LSTM.Builder().nIn(FEATURES).nOut(6).activation(Activation.TANH).build(), "in");
        String kv = "q";
        if (cross) {
            b.addLayer("kv", new LSTM.Builder().nIn(FEATURES).nOut(4).activation(Activation.TANH).build(), "in");
            kv = "kv";
        }
        long width = vertex.isProjectInput() ? vertex.getNOut() : 6;
        ComputationGraph net = new ComputationGraph(b
                .addVertex("attention", vertex, "q", kv, kv)
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "attention")
                .addLayer("out", new OutputLayer.Builder().nIn(width).nOut(3).activation(Activation.SOFTMAX).build(),
                        "pool")
                .addLayer("steps", new RnnOutputLayer.Builder().nIn(width).nOut(2).activation(Activation.SOFTMAX)
                        .build(), "attention")
                .setOutputs("out", "steps")
                .setInputTypes(InputType.recurrent(FEATURES, STEPS)).build());
        net.init();
        net.params().muli(2.5);
        Nd4j.getRandom().setSeed(157);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, FEATURES, STEPS);
        ModelGraph graph = Dl4jConverter.convert(net, STEPS);
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("in", x), graph.outputs());
        INDArray[] dl4j = net.output(false, x.dup());
        for (int i = 0; i < dl4j.length; i++) {
            double error = Dl4jConverterTest.relativeError(dl4j[i].dup('c'), ours.get(graph.outputs().get(i)));
            assertTrue(error < 1e-5, name + ", output " + i + ": relative error " + error);
        }
    }

    @Test
    void attentionVertexWithTwoInputsIsRefusedNamingIt() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(151).graphBuilder()
                .addInputs("in")
                .addLayer("q", new LSTM.Builder().nIn(FEATURES).nOut(6).build(), "in")
                .addVertex("attention", new AttentionVertex.Builder().nInQueries(6).nInKeys(6).nInValues(6).nOut(6)
                        .nHeads(1).projectInput(true).build(), "q", "q")
                .addLayer("out", new RnnOutputLayer.Builder().nIn(6).nOut(2).build(), "attention")
                .setOutputs("out").build());
        net.init();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> Dl4jConverter.convert(net, STEPS));
        assertTrue(e.getMessage().contains("'attention'") && e.getMessage().contains("3 inputs"), e.getMessage());
    }
}
