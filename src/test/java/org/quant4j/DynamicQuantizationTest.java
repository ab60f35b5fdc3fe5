package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.report.SqnrMeter;

/**
 * Dynamic quantization ({@link Quantizer#quantizeDynamic}): no calibration data; weights int8 per output channel,
 * each product's input quantized per call from its own largest magnitude. Checked against a plain-ND4J reference of
 * the formula, against DL4J fp32, the int8 plan against the fake-quant graph, and through a file round trip.
 */
class DynamicQuantizationTest {

    @TempDir
    Path tmp;

    private static MultiLayerNetwork mlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().name("hidden").nOut(32).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).name("out").nOut(6)
                        .activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(20)).build());
        net.init();
        return net;
    }

    private static MultiLayerNetwork lstm() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7)
                .dataType(DataType.FLOAT).list()
                .layer(new LSTM.Builder().name("lstm1").nOut(24).activation(Activation.TANH)
                        .dataFormat(RNNFormat.NWC).build())
                .layer(new LastTimeStep(new LSTM.Builder().name("lstm2").nOut(16).activation(Activation.TANH)
                        .dataFormat(RNNFormat.NWC).build()))
                .layer(new OutputLayer.Builder().name("out").nOut(5).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(7, 10, RNNFormat.NWC)).build());
        net.init();
        return net;
    }

    /**
     * A dense layer of the fake-quant graph computes {@code q(x) · W~ + b}, q(x) the input on the symmetric grid of
     * this very batch ({@code s = max|x| / 127}) and W~ the dequantized int8 weights: rebuilt here in plain Java
     * from the saved levels and scales; a batch with larger values gets a coarser grid. The user's network is not
     * changed.
     */
    @Test
    void denseLayerComputesTheDynamicFormula() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .dataType(DataType.FLOAT).list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).name("out").nOut(6)
                        .activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(20)).build());
        net.init();
        INDArray before = net.params().dup();
        QuantizedModel q = Quantizer.quantizeDynamic(net);
        assertEquals(before, net.params(), "the user's network was changed");
        TensorQuantization w = q.quantizations().stream().filter(t -> t.tensor().equals("out/W")).findFirst()
                .orElseThrow(() -> new AssertionError("out/W not quantized: " + q.quantizations()));
        assertEquals(null, w.input(), "a dynamic weight has no activation scales folded in");
        assertEquals(6, w.scales().length, "one scale per output channel");
        INDArray levels = q.graph().getVariable("out/W:q").getArr().castTo(DataType.FLOAT);
        INDArray weights = levels.mulRowVector(Nd4j.create(w.scales()).reshape(1, 6));
        INDArray bias = net.getLayer(0).getParam("b");

        Nd4j.getRandom().setSeed(11);
        for (double spread : new double[] {1, 40}) {
            INDArray x = Nd4j.randn(DataType.FLOAT, 16, 20).muli(spread);
            float s = x.amaxNumber().floatValue() / 127f;
            float[] v = x.dup('c').data().asFloat();
            for (int i = 0; i < v.length; i++) {
                v[i] = Math.max(-127f, Math.min(127f, (float) Math.rint(v[i] / s))) * s;
            }
            INDArray expected = Nd4j.create(v, x.shape(), 'c').mmul(weights).addRowVector(bias);
            INDArray actual = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
            double diff = expected.sub(actual).amaxNumber().doubleValue();
            double scale = expected.amaxNumber().doubleValue();
            assertTrue(diff < 1e-5 * scale, "spread " + spread + ": dynamic dense layer off the formula by " + diff);
            assertTrue(q.output(x).sub(actual).amaxNumber().doubleValue() < 1e-5 * scale, "int8 plan off");
        }
    }

    @Test
    void denseNetworkIsCloseToFp32AndInt8AgreesWithFakeQuant() throws Exception {
        MultiLayerNetwork net = mlp();
        QuantizedModel q = Quantizer.quantizeDynamic(net);
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.FLOAT, 64, 20);
        assertCloseToFp32(net.output(x), q, x);
        File file = tmp.resolve("mlp-dynamic.q4j").toFile();
        q.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        assertEquals(q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0],
                loaded.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0], "the file round trip changed outputs");
    }

    @Test
    void lstmNetworkIsCloseToFp32AndRunsItsRecurrentProductsInInt8() throws Exception {
        MultiLayerNetwork net = lstm();
        QuantizedModel q = Quantizer.quantizeDynamic(net, 10, QuantizationOptions.defaults());
        Nd4j.getRandom().setSeed(8);
        INDArray x = Nd4j.randn(DataType.FLOAT, 32, 10, 7);
        assertCloseToFp32(net.output(x), q, x);
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        String summary = q.int8Network().summary(x.shape());
        // Each LSTM as one step (int8 recurrent products, the hidden state's levels computed per step) and the three
        // dense products (two LSTMs' input products, the output layer) as int8 kernels whose input levels are
        // computed per call: no product and no dynamic quantization op left to an island.
        assertTrue(summary.startsWith("5 int8 kernels"), summary);
        assertFalse(summary.contains("matmul") || summary.contains("xw_plus_b") || summary.contains("abs"), summary);
        File file = tmp.resolve("lstm-dynamic.q4j").toFile();
        q.save(file);
        assertEquals(q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0],
                QuantizedModel.load(file).outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]);
    }

    /**
     * Self-attention's key and value projections read the same rows: one dynamic quantization of those rows, read by
     * both products (quantizing them once per product named the same ops twice). Every projection int8 in the plan.
     */
    @Test
    void selfAttentionProjectionsSharingTheirInputQuantizeOnce() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(11)
                .dataType(DataType.FLOAT).list()
                .layer(new LSTM.Builder().name("lstm").nOut(16).activation(Activation.TANH).build())
                .layer(new SelfAttentionLayer.Builder().name("attention").nOut(16).nHeads(2).projectInput(true)
                        .build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build())
                .layer(new OutputLayer.Builder().name("out").nOut(5).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(7, 10, RNNFormat.NCW)).build());
        net.init();
        QuantizedModel q = Quantizer.quantizeDynamic(net, 10, QuantizationOptions.defaults());
        Nd4j.getRandom().setSeed(12);
        INDArray x = Nd4j.randn(DataType.FLOAT, 16, 7, 10);
        assertCloseToFp32(net.output(x), q, x);
        String summary = q.int8Network().summary(x.shape());
        // the LSTM's input products and its step, Wq, Wk, Wv, Wo, the output layer
        assertTrue(summary.startsWith("7 int8 kernels"), summary);
        assertFalse(summary.contains("xw_plus_b") || summary.contains("abs"), summary);
    }

    /**
     * A NaN and an infinity in two examples: their outputs are NaN, and those examples run as zeros, so the scales
     * computed per call are not set by them: the other examples' outputs stay finite and close to what they are
     * without them (not bit for bit: the scale is the batch's), on both executions, for the statically quantized
     * LSTM (its hidden state's scale) and the dynamic one (where one NaN made the whole batch NaN).
     */
    @Test
    void aNonFiniteExampleLeavesTheOthersFinite() {
        MultiLayerNetwork net = lstm();
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.randn(DataType.FLOAT, 8, 10, 7);
        java.util.List<org.nd4j.linalg.dataset.DataSet> batches = java.util.List.of(
                new org.nd4j.linalg.dataset.DataSet(Nd4j.randn(DataType.FLOAT, 16, 10, 7),
                        Nd4j.zeros(DataType.FLOAT, 16, 5)));
        QuantizedModel staticModel = Quantizer.quantize(net,
                new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(batches, 16));
        QuantizedModel dynamicModel = Quantizer.quantizeDynamic(net, 10, QuantizationOptions.defaults());
        INDArray bad = x.dup();
        bad.putScalar(new long[] {3, 4, 2}, Float.NaN);
        bad.putScalar(new long[] {5, 0, 1}, Float.POSITIVE_INFINITY);
        for (QuantizedModel q : java.util.List.of(staticModel, dynamicModel)) {
            for (QuantizedModel.Execution e : QuantizedModel.Execution.values()) {
                INDArray clean = q.outputs(e, x)[0];
                INDArray out = q.outputs(e, bad)[0];
                for (int r = 0; r < 8; r++) {
                    INDArray row = out.getRow(r);
                    if (r == 3 || r == 5) {
                        assertTrue(Double.isNaN(row.getDouble(0)), e + ": example " + r + " not NaN: " + row);
                    } else {
                        double diff = row.sub(clean.getRow(r)).amaxNumber().doubleValue();
                        assertTrue(diff < 0.05, e + ": example " + r + " moved by " + diff + ": " + row);
                    }
                }
            }
        }
    }

    @Test
    void recurrentNetworkWithoutSequenceLengthIsRefusedNamingIt() {
        MultiLayerNetwork net = lstm();
        Exception e = assertThrows(RuntimeException.class, () -> Quantizer.quantizeDynamic(net));
        assertTrue(e.getMessage() != null && e.getMessage().contains("lstm1")
                && e.getMessage().contains("quantizeDynamic(net, sequenceLength"), e.getMessage());
    }

    private static void assertCloseToFp32(INDArray expected, QuantizedModel q, INDArray x) {
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "dynamic W8A8 output SQNR " + m.sqnrDb() + " dB");
        INDArray int8 = q.output(x);
        assertArrayEquals(fakeQuant.shape(), int8.shape());
        double diff = fakeQuant.sub(int8).amaxNumber().doubleValue();
        assertTrue(diff < 3e-3, "int8 plan far from the fake-quant graph: " + diff);
        assertEquals(fakeQuant.argMax(1), int8.argMax(1), "int8 plan and fake-quant graph disagree on a class");
    }
}
