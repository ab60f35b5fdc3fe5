package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.graph.rnn.ReverseTimeSeriesVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.GravesBidirectionalLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.report.SqnrMeter;

/**
 * GravesBidirectionalLSTM, TimeDistributed, MaskZeroLayer and the recurrent vertices through the whole pipeline: their
 * products quantized, the fake-quant output close to DL4J's, the int8 plan close to the fake-quant graph.
 */
class RecurrentWrappersQuantizationTest {

    private static final int FEATURES = 6;
    private static final int STEPS = 8;

    private static ListDataSetIterator<DataSet> sequences(int batches, int batch, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            INDArray x = Nd4j.randn(DataType.FLOAT, batch, FEATURES, STEPS);
            for (int n = 0; n < batch; n += 3) {
                x.get(org.nd4j.linalg.indexing.NDArrayIndex.point(n), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(STEPS - 2, STEPS)).assign(0);
            }
            data.add(new DataSet(x, Nd4j.zeros(DataType.FLOAT, batch, 4)));
        }
        return new ListDataSetIterator<>(data, batch);
    }

    /** MaskZeroLayer(LSTM) on sequences padded with zeros, GravesBidirectionalLSTM, TimeDistributed(dense). */
    @Test
    void wrappersQuantize() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(211).list()
                .layer(new MaskZeroLayer(new LSTM.Builder().name("masked").nIn(FEATURES).nOut(12)
                        .activation(Activation.TANH).build(), 0.0))
                .layer(new GravesBidirectionalLSTM.Builder().name("bidi").nOut(10).activation(Activation.TANH).build())
                .layer(new TimeDistributed(new DenseLayer.Builder().name("td").nOut(8).activation(Activation.RELU)
                        .build(), RNNFormat.NCW))
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build())
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, RNNFormat.NCW)).build());
        net.init();
        QuantizedModel q = Quantizer.quantize(net, sequences(4, 16, 3));
        assertTrue(q.report().quantizedOps().containsAll(List.of("layer0/preact", "bidi/fwd/preact",
                "bidi/bwd/preact", "layer2/step/preact", "out/preact")), q.report().quantizedOps().toString());
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        INDArray x = sequences(1, 64, 5).next().getFeatures();
        assertAgrees(net.output(x), q, x);
    }

    /** An encoder's last step repeated over the steps beside the reversed input, a decoder, a per-step output. */
    @Test
    void recurrentVerticesQuantize() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(223).graphBuilder()
                .addInputs("in")
                .addLayer("enc", new LSTM.Builder().nIn(FEATURES).nOut(10).activation(Activation.TANH).build(), "in")
                .addVertex("last", new LastTimeStepVertex("in"), "enc")
                .addVertex("dup", new DuplicateToTimeSeriesVertex("in"), "last")
                .addVertex("reversed", new ReverseTimeSeriesVertex(), "in")
                .addVertex("merged", new MergeVertex(), "dup", "reversed")
                .addLayer("dec", new LSTM.Builder().nIn(10 + FEATURES).nOut(8).activation(Activation.TANH).build(),
                        "merged")
                .addLayer("out", new RnnOutputLayer.Builder().nIn(8).nOut(3).activation(Activation.SOFTMAX).build(),
                        "dec")
                .setOutputs("out").build());
        net.init();
        QuantizedModel q = Quantizer.quantize(net, sequences(4, 16, 7));
        assertTrue(q.report().quantizedOps().containsAll(List.of("enc/preact", "dec/preact", "out/preact")),
                q.report().quantizedOps().toString());
        INDArray x = sequences(1, 32, 9).next().getFeatures();
        INDArray expected = net.outputSingle(x);
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR " + m.sqnrDb() + " dB");
        // The hidden state's levels are dynamic (one scale per step and batch): where the plan's h differs from the
        // graph's in the last float bits, a level at a rounding boundary may round the other way, one step of h
        // (max |h| / 127) times a weight: about 1e-3 here.
        double diff = fakeQuant.sub(q.output(x)).amaxNumber().doubleValue();
        assertTrue(diff < 3e-3, "int8 plan far from fake-quant: " + diff);
        assertEquals(fakeQuant.argMax(1), q.output(x).argMax(1), "int8 plan and fake-quant graph disagree");
    }

    private static void assertAgrees(INDArray expected, QuantizedModel q, INDArray x) {
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR " + m.sqnrDb() + " dB");
        INDArray int8 = q.output(x);
        assertTrue(fakeQuant.sub(int8).amaxNumber().doubleValue() < 1e-3, "int8 plan far from the fake-quant graph");
        assertEquals(fakeQuant.argMax(1), int8.argMax(1), "int8 plan and fake-quant graph disagree on a class");
    }
}
