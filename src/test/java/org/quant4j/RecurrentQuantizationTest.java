package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.convert.UnsupportedLayerException;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.report.SqnrMeter;

/** Recurrent networks through the whole pipeline: calibration, the fake-quant graph, the int8 plan, save and load. */
class RecurrentQuantizationTest {

    private static final int FEATURES = 6;
    private static final int STEPS = 9;

    @TempDir
    Path tmp;

    static MultiLayerNetwork lstmClassifier(RNNFormat format) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(71).list()
                .layer(new LSTM.Builder().name("lstm1").nOut(16).dataFormat(format).build())
                .layer(new LastTimeStep(new LSTM.Builder().name("lstm2").nOut(12).dataFormat(format).build()))
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        net.init();
        return net;
    }

    static ListDataSetIterator<DataSet> sequences(RNNFormat format, int batches, int batch, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            INDArray x = format == RNNFormat.NWC ? Nd4j.randn(DataType.FLOAT, batch, STEPS, FEATURES)
                    : Nd4j.randn(DataType.FLOAT, batch, FEATURES, STEPS);
            data.add(new DataSet(x, Nd4j.zeros(DataType.FLOAT, batch, 4)));
        }
        return new ListDataSetIterator<>(data, batch);
    }

    /**
     * Both products of each LSTM are quantized: the input products of all steps as one int8 dense layer (W8A8), the
     * recurrent weights, read by one matrix product per step, on their own (weight only; the hidden state's levels
     * dynamic); the int8 plan runs the dense layers as int8 kernels and each LSTM as one step, and agrees with the
     * fake-quant graph; the file round trip keeps every value.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(RNNFormat.class)
    void lstmClassifierQuantizesBothProductsAndRunsInInt8(RNNFormat format) throws Exception {
        MultiLayerNetwork net = lstmClassifier(format);
        QuantizedModel q = Quantizer.quantize(net, sequences(format, 4, 16, 3));
        assertEquals(List.of("lstm1/preact", "lstm2/sequence/preact", "out/preact"), q.report().quantizedOps());
        for (String recurrent : List.of("lstm1/RW", "lstm2/sequence/RW")) {
            TensorQuantization t = q.quantizations().stream().filter(w -> w.tensor().equals(recurrent)).findFirst()
                    .orElseThrow(() -> new AssertionError(recurrent + " not quantized: " + q.quantizations()));
            assertEquals(TensorQuantization.Kind.WEIGHT, t.kind());
            assertEquals(STEPS - 1, t.consumers().size(), "one matrix product per step after the first");
            assertEquals(4 * (recurrent.startsWith("lstm1") ? 16 : 12), t.scales().length, "one scale per gate column");
            assertEquals(DataType.INT8, q.graph().getVariable(recurrent + ":q").dataType());
            assertFalse(q.graph().hasVariable(recurrent), "the fp32 recurrent weights are gone");
        }
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());

        INDArray x = sequences(format, 1, 64, 5).next().getFeatures();
        INDArray expected = net.output(x);
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        INDArray int8 = q.output(x);
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR " + m.sqnrDb() + " dB");
        assertEquals(fakeQuant.argMax(1), int8.argMax(1), "int8 plan and fake-quant graph disagree on a class");
        assertTrue(fakeQuant.sub(int8).amaxNumber().doubleValue() < 1e-3, "int8 plan far from the fake-quant graph");
        String summary = q.int8Network().summary(x.shape());
        // The three dense products, and each LSTM as one step (int8 recurrent products, gates in f32): no island
        // op is left of the recurrent layers.
        assertTrue(summary.startsWith("5 int8 kernels"), summary);
        assertFalse(summary.contains("matmul") || summary.contains("multiply"), summary);

        File file = tmp.resolve("lstm-" + format + ".q4j").toFile();
        q.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        assertEquals(int8, loaded.output(x));
        assertEquals(fakeQuant, loaded.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]);
    }

    /**
     * Variable-length sequences: calibration batches carrying DL4J feature masks give a model that takes the mask as
     * its second input, {@code output(features, mask)}, and applies it as DL4J does (LastTimeStep reads each
     * example's last unmasked step, after state zeroed at masked steps).
     */
    @Test
    void featureMasksEnterAsASecondInput() {
        MultiLayerNetwork net = lstmClassifier(RNNFormat.NCW);
        List<DataSet> batches = new ArrayList<>();
        ListDataSetIterator<DataSet> plain = sequences(RNNFormat.NCW, 4, 16, 11);
        int b = 0;
        while (plain.hasNext()) {
            DataSet d = plain.next();
            d.setFeaturesMaskArray(lengthMask(16, b++));
            batches.add(d);
        }
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(batches, 16));
        assertEquals(List.of("input", "input_mask"), q.inputs().stream().map(TensorSpec::name).toList());

        INDArray x = sequences(RNNFormat.NCW, 1, 64, 13).next().getFeatures();
        INDArray mask = lengthMask(64, 7);
        INDArray expected = net.output(x, false, mask, null);
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x, mask)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25, "W8A8 output SQNR under masks " + m.sqnrDb() + " dB");
        INDArray unmasked = net.output(x, false);
        assertTrue(expected.sub(unmasked).amaxNumber().doubleValue() > 1e-2, "the masks change DL4J's outputs");
        assertEquals(fakeQuant.argMax(1), q.output(x, mask).argMax(1), "int8 plan and fake-quant graph disagree");
        QuantizationException e = assertThrows(QuantizationException.class, () -> q.output(x));
        assertTrue(e.getMessage().contains("input_mask"), e.getMessage());
    }

    /**
     * An embedding table is stored as INT8, one scale per row (weight only, min/max per row); a ComputationGraph
     * reads its sequence length from the calibration data as a MultiLayerNetwork does.
     */
    @Test
    void embeddingTableIsStoredInt8PerRowAndGraphsWork() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(97).graphBuilder()
                .addInputs("tokens")
                .addLayer("emb", new EmbeddingSequenceLayer.Builder().nIn(50).nOut(8).inputLength(STEPS).build(),
                        "tokens")
                .addLayer("lstm", new LastTimeStep(new LSTM.Builder().nIn(8).nOut(10).activation(Activation.TANH)
                        .build()), "emb")
                .addLayer("out", new OutputLayer.Builder().nIn(10).nOut(4).activation(Activation.SOFTMAX).build(),
                        "lstm")
                .setOutputs("out").build());
        net.init();
        java.util.Random random = new java.util.Random(5);
        List<DataSet> batches = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            float[][] tokens = new float[16][STEPS];
            for (float[] row : tokens) {
                for (int t = 0; t < STEPS; t++) {
                    row[t] = random.nextInt(50);
                }
            }
            batches.add(new DataSet(Nd4j.createFromArray(tokens), Nd4j.zeros(DataType.FLOAT, 16, 4)));
        }
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(batches, 16));
        TensorQuantization table = q.quantizations().stream().filter(t -> t.tensor().equals("emb/W")).findFirst()
                .orElseThrow(() -> new AssertionError("the table is not quantized: " + q.quantizations()));
        assertEquals(50, table.scales().length, "one scale per row");
        assertEquals(0, table.axis());
        assertEquals(DataType.INT8, q.graph().getVariable("emb/W:q").dataType());
        INDArray x = batches.get(0).getFeatures();
        SqnrMeter m = new SqnrMeter();
        m.add(net.outputSingle(x), q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR " + m.sqnrDb() + " dB");
        assertEquals(q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0].argMax(1), q.output(x).argMax(1));
    }

    /** Recurrent layers on both sides of a layer kept in DL4J (fp32) are converted for the sequence length. */
    @Test
    void recurrentPartsAroundAnUnsupportedLayer() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(103).list()
                .layer(new LSTM.Builder().name("first").nOut(8).activation(Activation.TANH).build())
                .layer(CustomBidirectionalLstm.of("middle", 0, 6, Activation.TANH))
                .layer(new LastTimeStep(new LSTM.Builder().name("last").nOut(5).activation(Activation.TANH).build()))
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS)).build());
        net.init();
        QuantizedModel q = Quantizer.quantize(net, sequences(RNNFormat.NCW, 2, 16, 17),
                QuantizationOptions.builder().keepUnsupportedLayersFp32(true).build());
        assertEquals(List.of(new QuantizedModel.Fp32Layer(1, "middle", "CustomBidirectionalLstm")), q.fp32Layers());
        INDArray x = sequences(RNNFormat.NCW, 1, 32, 19).next().getFeatures();
        SqnrMeter m = new SqnrMeter();
        m.add(net.output(x), q.output(x));
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, "W8A8 output SQNR " + m.sqnrDb() + " dB");
    }

    /** Masks [n, STEPS] of varied lengths, some padded at the end and some at the start. */
    private static INDArray lengthMask(int n, long seed) {
        java.util.Random random = new java.util.Random(seed);
        INDArray mask = Nd4j.ones(DataType.FLOAT, n, STEPS);
        for (int i = 0; i < n; i++) {
            int padding = random.nextInt(STEPS - 2);
            for (int t = 0; t < padding; t++) {
                mask.putScalar(i, i % 2 == 0 ? STEPS - 1 - t : t, 0);
            }
        }
        return mask;
    }

    /** The graph is unrolled over the calibration data's sequence length: other lengths are refused by name. */
    @Test
    void otherSequenceLengthIsRefusedClearly() {
        QuantizedModel q = Quantizer.quantize(lstmClassifier(RNNFormat.NCW), sequences(RNNFormat.NCW, 2, 8, 3));
        INDArray longer = Nd4j.rand(DataType.FLOAT, 2, FEATURES, STEPS + 1);
        QuantizationException e = assertThrows(QuantizationException.class, () -> q.output(longer));
        assertTrue(e.getMessage().contains("[2, 6, 10]") && e.getMessage().contains("[-1, 6, 9]"), e.getMessage());
    }

    /** Converting a recurrent network needs the sequence length; the error says where to give it. */
    @Test
    void conversionWithoutSequenceLengthSaysWhatIsMissing() {
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> Dl4jConverter.convert(lstmClassifier(RNNFormat.NCW)));
        assertTrue(e.getMessage().contains("layer 0 'lstm1' (LSTM)") && e.getMessage().contains("sequenceLength"),
                e.getMessage());
    }
}
