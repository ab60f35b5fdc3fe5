package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;
import org.nd4j.linalg.dataset.api.preprocessor.MultiNormalizerStandardize;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerMinMaxScaler;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.dataset.api.preprocessor.VGG16ImagePreProcessor;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputNormalizationPass;
import org.quant4j.graph.ModelGraph;
import org.quant4j.report.SqnrMeter;

/**
 * A DL4J normalizer built into the quantized model ({@link QuantizationOptions.Builder#inputNormalizer}): for each
 * supported normalizer, the converted fp32 graph with the normalizer equals DL4J's {@code net.output} of the
 * normalized data within 1e-5, the quantized model on raw data matches DL4J on normalized data within quantization
 * noise, and a saved and loaded model keeps the normalizer. Unsupported normalizers are refused naming their class.
 */
class InputNormalizationTest {

    /** Raw features far from the unit range: feature j is {@code MEAN[j] + SPREAD[j] * z}, z standard normal. */
    private static final double[] MEAN = {100, -50, 0.5, 1000, 3, 0};
    private static final double[] SPREAD = {20, 5, 0.1, 300, 1, 0.01};

    @TempDir
    Path tmp;

    private static List<DataSet> table;
    private static INDArray rawTest;

    @BeforeAll
    static void data() {
        table = table(8, 64, 1);
        rawTest = table(1, 256, 2).get(0).getFeatures();
    }

    /** Batches of the table: three classes, decided by the standardized features (so the normalizer matters). */
    private static List<DataSet> table(int batches, int batch, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> list = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            INDArray z = Nd4j.randn(DataType.FLOAT, batch, MEAN.length);
            INDArray x = z.dup();
            INDArray y = Nd4j.zeros(DataType.FLOAT, batch, 3);
            for (int r = 0; r < batch; r++) {
                double s0 = z.getDouble(r, 0) + z.getDouble(r, 3);
                double s1 = z.getDouble(r, 1) - z.getDouble(r, 5);
                y.putScalar(r, s0 > 0.5 ? 0 : s1 > 0 ? 1 : 2, 1.0);
                for (int j = 0; j < MEAN.length; j++) {
                    x.putScalar(r, j, MEAN[j] + SPREAD[j] * z.getDouble(r, j));
                }
            }
            list.add(new DataSet(x, y));
        }
        return list;
    }

    private static DataSetIterator raw() {
        return new ListDataSetIterator<>(table, 1);
    }

    /** An MLP trained on the table normalized by {@code normalizer} (fitted on it first). */
    private static MultiLayerNetwork trainedMlp(DataNormalization normalizer) {
        normalizer.fit(raw());
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(3).weightInit(WeightInit.XAVIER).updater(new Adam(1e-2)).dataType(DataType.FLOAT)
                .list()
                .layer(new DenseLayer.Builder().name("fc1").nIn(MEAN.length).nOut(16).activation(Activation.RELU)
                        .build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        // normalized copies: a pre-processor on a list iterator would normalize the shared table in place
        DataSetIterator training = new ListDataSetIterator<>(table.stream()
                .map(d -> new DataSet(normalized(normalizer, d.getFeatures()), d.getLabels())).toList(), 1);
        for (int epoch = 0; epoch < 15; epoch++) {
            training.reset();
            net.fit(training);
        }
        return net;
    }

    private static INDArray normalized(DataNormalization normalizer, INDArray raw) {
        INDArray x = raw.dup();
        normalizer.transform(x);
        return x;
    }

    private static double sqnr(INDArray reference, INDArray actual) {
        SqnrMeter m = new SqnrMeter();
        m.add(reference, actual);
        return m.sqnrDb();
    }

    /** The converted fp32 graph with the normalizer built in, run on raw data. */
    private static INDArray fp32WithNormalizer(MultiLayerNetwork net, InputNormalization n, INDArray raw) {
        ModelGraph g = Dl4jConverter.convert(net);
        InputNormalizationPass.insert(g, n);
        String out = g.outputs().get(0);
        return GraphExecution.output(g.graph(), Map.of(g.inputs().get(0).name(), raw), List.of(out)).get(out);
    }

    private static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        double worst = Nd4j.math().abs(expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)))
                .maxNumber().doubleValue();
        System.out.println(what + ": largest difference " + worst);
        assertTrue(worst <= tolerance, what + ": largest difference " + worst + " > " + tolerance);
    }

    /** Standardize on a table: fp32 parity, quantized parity, save/load, and the wrong model without it. */
    @Test
    void standardizeIsBuiltInAndSurvivesSaveAndLoad() throws Exception {
        NormalizerStandardize normalizer = new NormalizerStandardize();
        MultiLayerNetwork net = trainedMlp(normalizer);
        INDArray expected = net.output(normalized(normalizer, rawTest), false);
        InputNormalization n = InputNormalization.of(normalizer);
        assertEquals(MEAN.length, n.size());

        assertClose(expected, fp32WithNormalizer(net, n, rawTest), 1e-5, "fp32 graph with the normalizer vs DL4J");

        QuantizedModel q = Quantizer.quantize(net, raw(),
                QuantizationOptions.builder().inputNormalizer(normalizer).build());
        INDArray actual = q.output(rawTest);
        double db = sqnr(expected, actual);
        System.out.println("standardize, quantized (" + q.execution() + ") vs DL4J: " + db + " dB");
        assertInt8PlanComputesTheFakeQuantGraph(q, rawTest);
        assertTrue(db > 25, "quantized on raw data vs DL4J on normalized data: " + db + " dB");
        assertEquals(n, q.options().inputNormalization());
        assertTrue(q.report().toString().contains("input normalizer built in (takes raw data): NormalizerStandardize"),
                q.report().toString());

        File file = tmp.resolve("standardized.q4j").toFile();
        q.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        assertEquals(n, loaded.options().inputNormalization());
        assertEquals(q.report().inputNormalization(), loaded.report().inputNormalization());
        assertArrayEquals(actual.data().asFloat(), loaded.output(rawTest).data().asFloat(), 1e-6f);

        // The metadata says what the graph computes: hand-edited, it is refused.
        byte[] bytes = java.nio.file.Files.readAllBytes(file.toPath());
        assertRefusedWithEditedNormalization(bytes, m -> m.with("options").putNull("inputNormalization"),
                "the graph normalizes input 'input' but options.inputNormalization is missing");
        assertRefusedWithEditedNormalization(bytes, m -> ((com.fasterxml.jackson.databind.node.ArrayNode) m
                .with("options").with("inputNormalization").get("offset")).set(0, 99.0f),
                "options.inputNormalization (NormalizerStandardize");
        java.io.ByteArrayOutputStream other = new java.io.ByteArrayOutputStream();
        Quantizer.quantize(net, raw()).save(other);
        assertRefusedWithEditedNormalization(other.toByteArray(), m -> m.with("options").put("inputNormalization", "x"),
                "quant4j.json");
        assertRefusedWithEditedNormalization(other.toByteArray(), m -> m.with("options").set("inputNormalization",
                new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(n)),
                "is not what the graph computes at input 'input' (no normalization)");

        // Without the normalizer the same raw data gives another model: it is really applied.
        QuantizedModel plain = Quantizer.quantize(net, raw());
        double wrong = sqnr(expected, plain.output(rawTest));
        System.out.println("standardize, quantized without the normalizer vs DL4J: " + wrong + " dB");
        assertTrue(wrong < db - 15, "without the normalizer: " + wrong + " dB, with: " + db + " dB");
    }

    /**
     * The int8 plan runs the normalizer as library ops (not SameDiff calls) and computes what the fake-quant graph
     * does: the same top-1 class on every example, outputs within a few levels' noise.
     */
    private static void assertInt8PlanComputesTheFakeQuantGraph(QuantizedModel q, INDArray raw) {
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        List<String> normalizerSteps = q.int8Network().profile(1, raw).stream()
                .map(org.quant4j.runtime.Int8Network.StepTime::label)
                .filter(l -> l.contains("subtract") || l.contains("multiply")).toList();
        assertEquals(List.of("island subtract subtract", "island multiply multiply"), normalizerSteps);
        INDArray int8 = q.outputs(QuantizedModel.Execution.INT8, raw)[0];
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, raw)[0];
        assertEquals(fakeQuant.argMax(1), int8.argMax(1));
        double db = sqnr(fakeQuant, int8);
        System.out.println("int8 plan vs fake-quant graph: " + db + " dB");
        assertTrue(db > 40, "int8 plan vs fake-quant graph: " + db + " dB");
    }

    private static void assertRefusedWithEditedNormalization(byte[] model,
            java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> edit, String expected)
            throws java.io.IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        var m = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(
                org.quant4j.file.ModelZips.entry(model, "quant4j.json"));
        edit.accept(m);
        byte[] edited = org.quant4j.file.ModelZips.zip(List.of(
                new org.quant4j.file.ModelZips.Entry("quant4j.json", json.writeValueAsBytes(m)),
                new org.quant4j.file.ModelZips.Entry("graph.fb", org.quant4j.file.ModelZips.entry(model, "graph.fb"))));
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> QuantizedModel.load(new java.io.ByteArrayInputStream(edited)));
        assertTrue(e.getMessage().contains(expected), "'" + expected + "' not in: " + e.getMessage());
    }

    /** Min-max per channel on images (rank 4): the constants broadcast along the channels. */
    @Test
    void minMaxPerChannelOnImages() {
        MultiLayerNetwork net = TestNetworks.globalPoolingCnn(); // 3x16x16 inputs
        Nd4j.getRandom().setSeed(5);
        INDArray raw = Nd4j.rand(DataType.FLOAT, 32, 3, 16, 16).muli(Nd4j.create(new float[] {255, 40, 2},
                new long[] {1, 3, 1, 1})).addi(Nd4j.create(new float[] {0, -20, 7}, new long[] {1, 3, 1, 1}));
        NormalizerMinMaxScaler normalizer = new NormalizerMinMaxScaler(-1, 1);
        normalizer.fit(new DataSet(raw, Nd4j.zeros(DataType.FLOAT, 32, 5)));
        InputNormalization n = InputNormalization.of(normalizer);
        assertEquals(3, n.size());
        INDArray expected = net.output(normalized(normalizer, raw), false);

        assertClose(expected, fp32WithNormalizer(net, n, raw), 1e-5, "fp32 graph with the normalizer vs DL4J");
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(
                List.of(new DataSet(raw, Nd4j.zeros(DataType.FLOAT, 32, 5))), 8),
                QuantizationOptions.builder().inputNormalizer(normalizer).build());
        double db = sqnr(expected, q.output(raw));
        System.out.println("min-max, quantized (" + q.execution() + ") vs DL4J: " + db + " dB");
        assertInt8PlanComputesTheFakeQuantGraph(q, raw);
        assertTrue(db > 25, "quantized on raw images vs DL4J on normalized ones: " + db + " dB");

        // A calibration is made with its normalizer built in: quantizing it keeps it, another one is refused.
        Calibration once = Quantizer.calibrate(net, new ListDataSetIterator<>(List.of(new DataSet(raw,
                Nd4j.zeros(DataType.FLOAT, 32, 5))), 8), QuantizationOptions.builder().inputNormalizer(normalizer)
                .build());
        assertEquals(n, once.quantize(QuantizationOptions.defaults()).options().inputNormalization());
        QuantizationException other = assertThrows(QuantizationException.class, () -> once.quantize(
                QuantizationOptions.builder().inputNormalizer(new ImagePreProcessingScaler()).build()));
        assertTrue(other.getMessage().contains("is not the one built in when calibrating"), other.getMessage());

        // An iterator that normalizes the calibration data itself would normalize it twice.
        DataSetIterator normalizing = new ListDataSetIterator<>(List.of(new DataSet(raw.dup(),
                Nd4j.zeros(DataType.FLOAT, 32, 5))), 8);
        normalizing.setPreProcessor(normalizer);
        QuantizationException twice = assertThrows(QuantizationException.class, () -> Quantizer.quantize(net,
                normalizing, QuantizationOptions.builder().inputNormalizer(normalizer).build()));
        assertTrue(twice.getMessage().contains("pre-processor NormalizerMinMaxScaler"), twice.getMessage());
    }

    /**
     * A network quantized in parts (an unsupported layer kept in DL4J): the normalizer goes into the first
     * quantized part; a network whose first layer stays in DL4J is refused naming that layer.
     */
    @Test
    void aNetworkInPartsTakesTheNormalizerInItsFirstPart() {
        NormalizerStandardize normalizer = new NormalizerStandardize();
        MultiLayerNetwork trained = trainedMlp(normalizer);
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5)
                .weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().name("fc1").nIn(MEAN.length).nOut(16).activation(Activation.RELU)
                        .build())
                .layer(new org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer.Builder()
                        .name("gate").nIn(16).nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(16).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        net.getLayer(0).setParams(trained.getLayer(0).params().dup());
        INDArray expected = net.output(normalized(normalizer, rawTest), false);
        QuantizedModel q = Quantizer.quantize(net, raw(), QuantizationOptions.builder().inputNormalizer(normalizer)
                .keepUnsupportedLayersFp32(true).build());
        assertEquals(1, q.fp32Layers().size());
        double db = sqnr(expected, q.output(rawTest));
        System.out.println("standardize, network in parts, quantized vs DL4J: " + db + " dB");
        assertTrue(db > 25, "quantized in parts on raw data vs DL4J on normalized data: " + db + " dB");
        assertTrue(q.report().toString().contains("input normalizer built in"), q.report().toString());

        MultiLayerNetwork frozenFirst = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5)
                .dataType(DataType.FLOAT).list()
                .layer(new org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer.Builder()
                        .name("gate").nIn(MEAN.length).nOut(MEAN.length).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(MEAN.length).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .build());
        frozenFirst.init();
        QuantizationException e = assertThrows(QuantizationException.class, () -> Quantizer.quantize(frozenFirst,
                raw(), QuantizationOptions.builder().inputNormalizer(normalizer).keepUnsupportedLayersFp32(true)
                        .build()));
        assertTrue(e.getMessage().contains("the first layer 'gate' is kept in DL4J"), e.getMessage());
        System.out.println(e.getMessage());
    }

    /** A ComputationGraph: its input, named by the graph ("image"), is normalized per channel the same way. */
    @Test
    void standardizePerChannelOnAComputationGraph() {
        org.deeplearning4j.nn.graph.ComputationGraph net = TestNetworks.residualGraph(); // 2x12x12 inputs
        Nd4j.getRandom().setSeed(13);
        INDArray raw = Nd4j.randn(DataType.FLOAT, new long[] {32, 2, 12, 12}).muli(Nd4j.create(new float[] {30, 0.2f},
                new long[] {1, 2, 1, 1})).addi(Nd4j.create(new float[] {120, -4}, new long[] {1, 2, 1, 1}));
        DataSet data = new DataSet(raw, Nd4j.zeros(DataType.FLOAT, 32, 4));
        NormalizerStandardize normalizer = new NormalizerStandardize();
        normalizer.fit(data);
        InputNormalization n = InputNormalization.of(normalizer);
        assertEquals(2, n.size());
        INDArray expected = net.outputSingle(false, normalized(normalizer, raw));

        ModelGraph g = Dl4jConverter.convert(net);
        InputNormalizationPass.insert(g, n);
        assertEquals("image", g.inputs().get(0).name());
        String out = g.outputs().get(0);
        assertClose(expected, GraphExecution.output(g.graph(), Map.of("image", raw), List.of(out)).get(out), 1e-5,
                "fp32 graph with the normalizer vs DL4J (ComputationGraph)");
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(List.of(data), 8),
                QuantizationOptions.builder().inputNormalizer(normalizer).build());
        double db = sqnr(expected, q.output(raw));
        System.out.println("standardize per channel, ComputationGraph, quantized (" + q.execution() + ") vs DL4J: "
                + db + " dB");
        assertTrue(db > 25, "quantized on raw images vs DL4J on normalized ones: " + db + " dB");
    }

    /** The image scaler on raw pixels 0..255 of a flat-input CNN: one multiplier for every value. */
    @Test
    void imageScalerOnRawPixels() {
        MultiLayerNetwork net = TestNetworks.cnn(); // 784 flat inputs
        Nd4j.getRandom().setSeed(9);
        INDArray raw = Nd4j.rand(DataType.FLOAT, 32, 784).muli(255);
        raw = org.nd4j.linalg.ops.transforms.Transforms.floor(raw, false);
        ImagePreProcessingScaler normalizer = new ImagePreProcessingScaler();
        InputNormalization n = InputNormalization.of(normalizer);
        assertEquals(1, n.size());
        INDArray expected = net.output(normalized(normalizer, raw), false);

        assertClose(expected, fp32WithNormalizer(net, n, raw), 1e-5, "fp32 graph with the normalizer vs DL4J");
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(
                List.of(new DataSet(raw, Nd4j.zeros(DataType.FLOAT, 32, 10))), 16),
                QuantizationOptions.builder().inputNormalizer(normalizer).build());
        double db = sqnr(expected, q.output(raw));
        System.out.println("image scaler, quantized (" + q.execution() + ") vs DL4J: " + db + " dB");
        assertInt8PlanComputesTheFakeQuantGraph(q, raw);
        assertTrue(db > 25, "quantized on raw pixels vs DL4J on scaled ones: " + db + " dB");
    }

    @Test
    void unsupportedNormalizersAreRefusedNamingTheirClass() {
        QuantizationException vgg = assertThrows(QuantizationException.class,
                () -> QuantizationOptions.builder().inputNormalizer(new VGG16ImagePreProcessor()));
        assertTrue(vgg.getMessage().contains("VGG16ImagePreProcessor"), vgg.getMessage());

        MultiNormalizerStandardize multi = new MultiNormalizerStandardize();
        QuantizationException m = assertThrows(QuantizationException.class,
                () -> QuantizationOptions.builder().inputNormalizer(multi));
        assertTrue(m.getMessage().contains("MultiNormalizerStandardize"), m.getMessage());

        NormalizerStandardize labels = new NormalizerStandardize();
        labels.fitLabel(true);
        labels.fit(raw());
        QuantizationException l = assertThrows(QuantizationException.class,
                () -> QuantizationOptions.builder().inputNormalizer(labels));
        assertTrue(l.getMessage().contains("NormalizerStandardize") && l.getMessage().contains("labels"),
                l.getMessage());

        QuantizationException unfitted = assertThrows(QuantizationException.class,
                () -> InputNormalization.of(new NormalizerStandardize()));
        assertTrue(unfitted.getMessage().contains("never fitted"), unfitted.getMessage());
    }

    /** A normalizer fitted on other data (another feature count) is refused naming the input, the net untouched. */
    @Test
    void aNormalizerOfAnotherShapeIsRefused() {
        MultiLayerNetwork net = TestNetworks.cnn(); // 784 inputs
        NormalizerStandardize normalizer = new NormalizerStandardize();
        normalizer.fit(raw()); // 6 features
        INDArray params = net.params().dup();
        QuantizationException e = assertThrows(QuantizationException.class, () -> Quantizer.quantize(net,
                TestNetworks.randomIterator(16, 784, 10, 2, 3),
                QuantizationOptions.builder().inputNormalizer(normalizer).build()));
        assertTrue(e.getMessage().contains("has 6 values") && e.getMessage().contains("'input'"), e.getMessage());
        assertEquals(params, net.params());
    }
}
