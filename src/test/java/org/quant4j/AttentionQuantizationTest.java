package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.report.SqnrMeter;

/**
 * Attention through the whole pipeline: the projections Wq, Wk, Wv, Wo are quantized matmuls (W8A8), the batched
 * matmuls of two activations (Q K^T, A V) and the softmax stay fp32 (islands in the int8 plan); the fake-quant output
 * is close to DL4J's and the int8 plan agrees with it.
 */
class AttentionQuantizationTest {

    private static final int FEATURES = 6;
    private static final int STEPS = 8;

    private static ListDataSetIterator<DataSet> sequences(int batches, int batch, long seed, boolean masked) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            DataSet d = new DataSet(Nd4j.randn(DataType.FLOAT, batch, FEATURES, STEPS),
                    Nd4j.zeros(DataType.FLOAT, batch, 4));
            if (masked) {
                INDArray mask = Nd4j.ones(DataType.FLOAT, batch, STEPS);
                for (int n = 0; n < batch; n++) {
                    for (int t = STEPS - n % 4; t < STEPS; t++) {
                        mask.putScalar(n, t, 0);
                    }
                }
                d.setFeaturesMaskArray(mask);
            }
            data.add(d);
        }
        return new ListDataSetIterator<>(data, batch);
    }

    private static MultiLayerNetwork selfAttentionClassifier() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(163).list()
                .layer(new LSTM.Builder().name("lstm").nOut(16).activation(Activation.TANH).build())
                .layer(new SelfAttentionLayer.Builder().name("attn").nOut(16).nHeads(2).projectInput(true).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build())
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, RNNFormat.NCW)).build());
        net.init();
        return net;
    }

    @TempDir
    Path tmp;

    @Test
    void selfAttentionProjectionsAreQuantizedMatmulsAndTheInt8PlanRuns() throws Exception {
        MultiLayerNetwork net = selfAttentionClassifier();
        QuantizedModel q = Quantizer.quantize(net, sequences(4, 16, 3, false));
        assertEquals(List.of("lstm/preact", "attn/k", "attn/v", "attn/q", "attn/out", "out/preact"),
                q.report().quantizedOps());
        for (String w : List.of("attn/Wq", "attn/Wk", "attn/Wv", "attn/Wo")) {
            assertEquals(DataType.INT8, q.graph().getVariable(w + ":q").dataType(), w);
        }
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        INDArray x = sequences(1, 64, 5, false).next().getFeatures();
        assertAgrees(net.output(x), q, x);
        // attention's scores, softmax and weighted sum run as library ops, none through a SameDiff session
        List<String> sameDiffIslands = q.int8Network().profile(1, x).stream()
                .map(org.quant4j.runtime.Int8Network.StepTime::label).filter(l -> l.contains("via SameDiff")).toList();
        assertEquals(List.of(), sameDiffIslands);
        File file = tmp.resolve("attention.q4j").toFile();
        q.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        assertEquals(q.output(x), loaded.output(x));
        assertEquals(q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0],
                loaded.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]);
    }

    /**
     * Learned queries under feature masks (the mask masks the keys and does not apply after the layer), through the
     * pipeline and a file round trip. DL4J M2.1 cannot run this layer, so the reference is the converted fp32 graph.
     */
    @Test
    void maskedLearnedSelfAttentionQuantizesAndSaves() throws Exception {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(179).list()
                .layer(new LSTM.Builder().name("lstm").nOut(12).activation(Activation.TANH).build())
                .layer(new LearnedSelfAttentionLayer.Builder().name("learned").nOut(12).nHeads(2).nQueries(3)
                        .projectInput(true).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build())
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, RNNFormat.NCW)).build());
        net.init();
        QuantizedModel q = Quantizer.quantize(net, sequences(4, 16, 23, true));
        assertTrue(q.report().quantizedOps().containsAll(List.of("learned/q", "learned/k", "learned/v", "learned/out")),
                q.report().quantizedOps().toString());
        DataSet test = sequences(1, 64, 29, true).next();
        INDArray x = test.getFeatures();
        INDArray mask = test.getFeaturesMaskArray();
        org.quant4j.graph.ModelGraph fp32 = org.quant4j.convert.Dl4jConverter.convert(net, STEPS, true);
        INDArray expected = org.quant4j.graph.GraphExecution.output(fp32.graph(),
                java.util.Map.of("input", x, "input_mask", mask), fp32.outputs()).get(fp32.outputs().get(0));
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x, mask)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR " + m.sqnrDb() + " dB");
        INDArray int8 = q.output(x, mask);
        assertTrue(fakeQuant.sub(int8).amaxNumber().doubleValue() < 1e-3, "int8 plan far from the fake-quant graph");
        File file = tmp.resolve("learned.q4j").toFile();
        q.save(file);
        assertEquals(int8, QuantizedModel.load(file).output(x, mask));
    }

    @Test
    void maskedSelfAttentionQuantizes() {
        MultiLayerNetwork net = selfAttentionClassifier();
        QuantizedModel q = Quantizer.quantize(net, sequences(4, 16, 7, true));
        DataSet test = sequences(1, 64, 9, true).next();
        INDArray x = test.getFeatures();
        INDArray mask = test.getFeaturesMaskArray();
        INDArray expected = net.output(x, false, mask, null);
        assertTrue(expected.sub(net.output(x, false)).amaxNumber().doubleValue() > 1e-3, "the masks change DL4J's");
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x, mask)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR under masks " + m.sqnrDb() + " dB");
        INDArray int8 = q.output(x, mask);
        assertTrue(fakeQuant.sub(int8).amaxNumber().doubleValue() < 1e-3, "int8 plan far from the fake-quant graph");
    }

    /** The recurrent attention layer's per-step products share Wq, Wo and RW: each quantized weight only. */
    @Test
    void recurrentAttentionQuantizes() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(167).list()
                .layer(new RecurrentAttentionLayer.Builder().name("ra").nOut(12).nHeads(2).projectInput(true)
                        .activation(Activation.TANH).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.MAX).name("pool").build())
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, RNNFormat.NCW)).build());
        net.init();
        QuantizedModel q = Quantizer.quantize(net, sequences(4, 16, 11, false));
        assertTrue(q.report().quantizedOps().containsAll(List.of("ra/preact", "ra/k", "ra/v", "out/preact")),
                q.report().quantizedOps().toString());
        for (String shared : List.of("ra/Wq", "ra/Wo", "ra/RW")) {
            TensorQuantization t = q.quantizations().stream().filter(w -> w.tensor().equals(shared)).findFirst()
                    .orElseThrow(() -> new AssertionError(shared + " not quantized: " + q.quantizations()));
            assertEquals(TensorQuantization.Kind.WEIGHT, t.kind());
            assertEquals(STEPS - 1, t.consumers().size(), "one product per step after the first");
        }
        INDArray x = sequences(1, 64, 13, false).next().getFeatures();
        assertAgrees(net.output(x), q, x);
    }

    @Test
    void attentionVertexQuantizes() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(173).graphBuilder()
                .addInputs("in")
                .addLayer("lstm", new LSTM.Builder().nIn(FEATURES).nOut(12).activation(Activation.TANH).build(), "in")
                .addVertex("attn", new AttentionVertex.Builder().nInQueries(12).nInKeys(12).nInValues(12).nOut(12)
                        .nHeads(3).projectInput(true).build(), "lstm", "lstm", "lstm")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "attn")
                .addLayer("out", new OutputLayer.Builder().nIn(12).nOut(4).activation(Activation.SOFTMAX).build(),
                        "pool")
                .setOutputs("out").setInputTypes(InputType.recurrent(FEATURES, STEPS)).build());
        net.init();
        QuantizedModel q = Quantizer.quantize(net, sequences(4, 16, 17, false));
        assertTrue(q.report().quantizedOps().containsAll(List.of("attn/q", "attn/k", "attn/v", "attn/out")),
                q.report().quantizedOps().toString());
        INDArray x = sequences(1, 64, 19, false).next().getFeatures();
        assertAgrees(net.outputSingle(x), q, x);
    }

    /** The fake-quant output close to DL4J's (W8A8 SQNR above 25 dB), the int8 plan close to the fake-quant graph. */
    private static void assertAgrees(INDArray expected, QuantizedModel q, INDArray x) {
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR " + m.sqnrDb() + " dB");
        INDArray int8 = q.output(x);
        assertTrue(fakeQuant.sub(int8).amaxNumber().doubleValue() < 1e-3, "int8 plan far from the fake-quant graph: "
                + fakeQuant.sub(int8).amaxNumber() + "; " + q.int8Network().summary(x.shape()));
        assertEquals(fakeQuant.argMax(1), int8.argMax(1), "int8 plan and fake-quant graph disagree on a class");
    }
}
