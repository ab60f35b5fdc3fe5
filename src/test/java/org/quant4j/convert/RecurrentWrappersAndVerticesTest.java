package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.graph.rnn.ReverseTimeSeriesVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GravesBidirectionalLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/**
 * GravesBidirectionalLSTM, TimeDistributed, MaskZeroLayer and the recurrent vertices (LastTimeStepVertex,
 * DuplicateToTimeSeriesVertex, ReverseTimeSeriesVertex) against DL4J (fp32, relative error below 1e-5).
 */
class RecurrentWrappersAndVerticesTest {

    private static final int FEATURES = 5;
    private static final int STEPS = 7;

    static Stream<RNNFormat> formats() {
        return Stream.of(RNNFormat.NCW, RNNFormat.NWC);
    }

    private static INDArray sequences(RNNFormat format, int batch) {
        Nd4j.getRandom().setSeed(181);
        return format == RNNFormat.NWC ? Nd4j.randn(DataType.FLOAT, batch, STEPS, FEATURES)
                : Nd4j.randn(DataType.FLOAT, batch, FEATURES, STEPS);
    }

    private static MultiLayerNetwork net(RNNFormat format, Layer... layers) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().seed(191).list();
        for (Layer layer : layers) {
            b.layer(layer);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(b.layer(new RnnOutputLayer.Builder().nOut(3)
                .activation(Activation.SOFTMAX).dataFormat(format).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        net.init();
        for (var layer : net.getLayers()) {
            for (String key : new String[] {"b", "bF", "bB"}) {
                INDArray bias = layer.paramTable().get(key);
                if (bias != null) {
                    bias.assign(Nd4j.randn(DataType.FLOAT, bias.shape()).muli(0.5));
                }
            }
        }
        return net;
    }

    private static void check(String name, MultiLayerNetwork net, INDArray x) {
        double error = LayerParity.maxLayerError(net, x);
        assertTrue(error < 1e-5, name + ": relative error " + error);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void gravesBidirectionalLstmMatchesDl4j(RNNFormat format) {
        check("GravesBidirectionalLSTM " + format, net(format,
                new GravesBidirectionalLSTM.Builder().nOut(6).dataFormat(format).build(),
                new GravesBidirectionalLSTM.Builder().nOut(4).activation(Activation.SOFTSIGN)
                        .gateActivationFunction(Activation.HARDSIGMOID).dataFormat(format).build()),
                sequences(format, 3));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void timeDistributedMatchesDl4j(RNNFormat format) {
        check("TimeDistributed " + format, net(format,
                new LSTM.Builder().nOut(6).dataFormat(format).build(),
                new TimeDistributed(new DenseLayer.Builder().nOut(4).activation(Activation.RELU).build(), format),
                new LSTM.Builder().nOut(5).dataFormat(format).build()),
                sequences(format, 3));
    }

    /**
     * MaskZeroLayer over a SimpleRnn (which applies the mask at every step) and over an LSTM, on sequences whose
     * padding steps hold the masking value in every feature (and one step where only some features hold it).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void maskZeroLayerMatchesDl4j(RNNFormat format) {
        INDArray x = sequences(format, 3);
        INDArray ncw = format == RNNFormat.NWC ? x.permute(0, 2, 1) : x;
        ncw.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.interval(4, STEPS)).assign(-1);
        ncw.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.interval(0, 2)).assign(-1);
        ncw.get(NDArrayIndex.point(2), NDArrayIndex.interval(0, 2), NDArrayIndex.point(3)).assign(-1);
        MultiLayerNetwork net = net(format,
                new MaskZeroLayer(new SimpleRnn.Builder().nIn(FEATURES).nOut(6).dataFormat(format).build(), -1),
                new MaskZeroLayer(new LSTM.Builder().nIn(6).nOut(4).dataFormat(format).build(), 0.0));
        MultiLayerNetwork plain = net(format, new SimpleRnn.Builder().nOut(6).dataFormat(format).build(),
                new LSTM.Builder().nIn(6).nOut(4).dataFormat(format).build());
        plain.setParams(net.params());
        assertTrue(net.output(x.dup()).sub(plain.output(x.dup())).amaxNumber().doubleValue() > 1e-3,
                "the computed mask changes DL4J's outputs");
        check("MaskZeroLayer " + format, net, x);
    }

    /**
     * A sequence-to-sequence graph: an encoder LSTM, its last step (LastTimeStepVertex) repeated over the input's
     * steps (DuplicateToTimeSeriesVertex) beside the input reversed in time (ReverseTimeSeriesVertex), a decoder
     * LSTM and a per-step output.
     */
    @Test
    void recurrentVerticesMatchDl4j() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(197).graphBuilder()
                .addInputs("in")
                .addLayer("enc", new LSTM.Builder().nIn(FEATURES).nOut(6).activation(Activation.TANH).build(), "in")
                .addVertex("last", new LastTimeStepVertex("in"), "enc")
                .addVertex("dup", new DuplicateToTimeSeriesVertex("in"), "last")
                .addVertex("reversed", new ReverseTimeSeriesVertex(), "in")
                .addVertex("merged", new MergeVertex(), "dup", "reversed")
                .addLayer("dec", new LSTM.Builder().nIn(6 + FEATURES).nOut(4).build(), "merged")
                .addLayer("out", new RnnOutputLayer.Builder().nIn(4).nOut(3).activation(Activation.SOFTMAX).build(),
                        "dec")
                .setOutputs("out").build());
        net.init();
        INDArray x = sequences(RNNFormat.NCW, 3);
        ModelGraph graph = Dl4jConverter.convert(net, STEPS);
        Map<String, INDArray> ours = GraphExecution.output(graph.graph(), Map.of("in", x), graph.outputs());
        double error = Dl4jConverterTest.relativeError(net.outputSingle(false, x.dup()).dup('c'),
                ours.get(graph.outputs().get(0)));
        assertTrue(error < 1e-5, "relative error " + error);
    }
}
