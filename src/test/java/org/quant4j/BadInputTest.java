package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.quantize.FiniteValues;

/**
 * Bad and extreme inputs: each gives a clear error (what is wrong, and where) or a documented safe result, and
 * the user's network is unchanged after every failure.
 */
class BadInputTest {

    @TempDir
    Path tmp;

    private static float[] params(MultiLayerNetwork net) {
        return net.params().dup().toFloatVector();
    }

    private static DataSetIterator iterator(INDArray... features) {
        List<DataSet> list = Stream.of(features)
                .map(x -> new DataSet(x, Nd4j.zeros(DataType.FLOAT, x.size(0), 10))).toList();
        return new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(list);
    }

    private static void assertFinite(INDArray out, String what) {
        assertEquals(null, FiniteValues.nonFinite(out), what + " holds non-finite values");
    }

    /** A small LeNet-style CNN on 3x8x8 images with the int8 runtime's layer types. */
    private static MultiLayerNetwork smallCnn(WeightInit init) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).weightInit(init)
                .dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("conv").nOut(4).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool").kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().name("fc").nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(8, 8, 3))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    @Test
    void oneSampleOfCalibrationDataIsEnough() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(1, 784, 10, 1, 4));
        assertEquals(1, q.report().calibrationSamples());
        INDArray x = Nd4j.rand(DataType.FLOAT, 5, 784);
        INDArray out = q.output(x);
        assertArrayEquals(new long[] {5, 10}, out.shape());
        assertFinite(out, "output");
    }

    @Test
    void featuresOfTheWrongRankAreNamedWithTheBatch() {
        MultiLayerNetwork net = TestNetworks.cnn();
        float[] before = params(net);
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(net, iterator(Nd4j.rand(DataType.FLOAT, 4, 784), Nd4j.rand(DataType.FLOAT, 784))
                ));
        assertTrue(e.getMessage().contains("calibration batch 1") && e.getMessage().contains("[784]")
                && e.getMessage().contains("[-1, 784]"), e.getMessage());
        assertArrayEquals(before, params(net));

        MultiLayerNetwork cnn = smallCnn(WeightInit.XAVIER);
        e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(cnn, iterator(Nd4j.rand(DataType.FLOAT, 2, 3, 8))));
        assertTrue(e.getMessage().contains("calibration batch 0") && e.getMessage().contains("[2, 3, 8]"),
                e.getMessage());
    }

    @Test
    void nanOrInfiniteCalibrationFeaturesAreRefusedNamingTheBatch() {
        MultiLayerNetwork net = TestNetworks.cnn();
        float[] before = params(net);
        INDArray good = Nd4j.rand(DataType.FLOAT, 4, 784);
        INDArray nan = Nd4j.rand(DataType.FLOAT, 4, 784);
        nan.putScalar(2, 100, Float.NaN);
        nan.putScalar(3, 7, Float.NaN);
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(net, iterator(good, good, nan)));
        assertTrue(e.getMessage().contains("calibration batch 2") && e.getMessage().contains("2 NaN"), e.getMessage());
        assertArrayEquals(before, params(net));

        INDArray inf = Nd4j.rand(DataType.FLOAT, 4, 784);
        inf.putScalar(0, 0, Float.NEGATIVE_INFINITY);
        e = assertThrows(QuantizationException.class, () -> Quantizer.quantize(net, iterator(inf)));
        assertTrue(e.getMessage().contains("calibration batch 0") && e.getMessage().contains("1 infinite"),
                e.getMessage());
        assertArrayEquals(before, params(net));
    }

    @Test
    void nanOrInfiniteWeightsAreRefusedNamingTheWeight() {
        MultiLayerNetwork net = smallCnn(WeightInit.XAVIER);
        net.getLayer(2).getParam("W").putScalar(3, 5, Float.NaN);
        float[] before = params(net);
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(net, iterator(Nd4j.rand(DataType.FLOAT, 4, 3, 8, 8))));
        assertTrue(e.getMessage().contains("'fc/W'") && e.getMessage().contains("1 NaN"), e.getMessage());
        assertArrayEquals(before, params(net));

        MultiLayerNetwork inf = smallCnn(WeightInit.XAVIER);
        inf.getLayer(0).getParam("b").putScalar(1, Float.POSITIVE_INFINITY);
        e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(inf, iterator(Nd4j.rand(DataType.FLOAT, 4, 3, 8, 8))));
        assertTrue(e.getMessage().contains("'conv/b'") && e.getMessage().contains("1 infinite"), e.getMessage());
    }

    @Test
    @Tag("slow")
    void allZeroConstantAndSingleSpikeChannelsQuantizeToFiniteOutputs() {
        MultiLayerNetwork net = smallCnn(WeightInit.XAVIER);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 3, 8, 8);
        x.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(0)).assign(0);
        x.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(1)).assign(0.5);
        x.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(2)).assign(0);
        x.putScalar(new long[] {5, 2, 4, 4}, 1000f);
        for (Granularity g : Granularity.values()) {
            for (String method : List.of("minmax", "percentile-99.99", "entropy", "mse", "aciq", "patent")) {
                QuantizedModel q = Quantizer.quantize(net, iterator(x),
                        QuantizationOptions.builder().rangeMethod(method).granularity(g).build());
                for (QuantizedModel.Execution ex : QuantizedModel.Execution.values()) {
                    if (ex == QuantizedModel.Execution.INT8 && q.execution() != QuantizedModel.Execution.INT8) {
                        continue;
                    }
                    INDArray out = q.outputs(ex, x)[0];
                    assertFinite(out, method + " " + g + " " + ex);
                    assertEquals(8, out.sumNumber().doubleValue(), 1e-3, "softmax rows sum to 1");
                }
            }
        }
    }

    @Test
    void aNetworkWithoutParametersQuantizesToTheSameOutputs() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool").kernelSize(2, 2).stride(2, 2).build())
                .layer(new org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap")
                        .build())
                .layer(new LossLayer.Builder(LossFunctions.LossFunction.MCXENT).name("loss")
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(8, 8, 3))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        assertEquals(0, net.numParams());
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 8, 8);
        QuantizedModel q = Quantizer.quantize(net, iterator(x));
        assertTrue(q.report().quantizedOps().isEmpty(), q.report().quantizedOps().toString());
        assertTrue(net.output(x).equalsWithEps(q.output(x), 1e-6), "nothing quantized: fp32 outputs");
    }

    @Test
    void aParameterlessFirstLayerWithoutAShapeIsNamed() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new ActivationLayer.Builder().name("tanh").activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(10).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        float[] before = params(net);
        RuntimeException e = assertThrows(org.quant4j.convert.UnsupportedLayerException.class,
                () -> Quantizer.quantize(net, iterator(Nd4j.rand(DataType.FLOAT, 4, 10))));
        assertTrue(e.getMessage().contains("'tanh'") && e.getMessage().contains("shape of the network input"),
                e.getMessage());
        assertArrayEquals(before, params(net));
    }

    @Test
    void anUntrainedAllZeroNetworkQuantizesToFiniteOutputs() {
        MultiLayerNetwork net = smallCnn(WeightInit.ZERO);
        float[] before = params(net);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 8, 8);
        QuantizedModel q = Quantizer.quantize(net, iterator(x));
        INDArray expected = net.output(x);
        for (QuantizedModel.Execution ex : QuantizedModel.Execution.values()) {
            if (ex == QuantizedModel.Execution.INT8 && q.execution() != QuantizedModel.Execution.INT8) {
                continue;
            }
            INDArray out = q.outputs(ex, x)[0];
            assertFinite(out, ex.toString());
            assertTrue(expected.equalsWithEps(out, 1e-6), ex + ": all-zero weights give uniform softmax " + out);
        }
        assertArrayEquals(before, params(net));
    }

    @Test
    void corruptedAndForeignFilesGiveClearErrors() throws IOException {
        QuantizedModel q = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 1, 8));
        Path good = tmp.resolve("good.q4j");
        q.save(good.toFile());
        byte[] bytes = Files.readAllBytes(good);

        // Bytes flipped inside the compressed graph: the zip's checksum or inflater catches it.
        byte[] flipped = bytes.clone();
        for (int i = bytes.length / 2; i < bytes.length / 2 + 64; i++) {
            flipped[i] ^= 0x5A;
        }
        Path corrupted = tmp.resolve("corrupted.q4j");
        Files.write(corrupted, flipped);
        QuantizationException e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(corrupted.toFile()));
        assertTrue(e.getMessage().contains("corrupted.q4j"), e.getMessage());

        Path empty = tmp.resolve("empty.q4j");
        Files.write(empty, new byte[0]);
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(empty.toFile()));
        assertTrue(e.getMessage().contains("empty.q4j") && e.getMessage().contains("not a quant4j model"),
                e.getMessage());

        // A DL4J model file is a zip too, but not ours.
        Path dl4j = tmp.resolve("dl4j.zip");
        ModelSerializer.writeModel(smallCnn(WeightInit.XAVIER), dl4j.toFile(), false);
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(dl4j.toFile()));
        assertTrue(e.getMessage().contains("dl4j.zip is not a quant4j model")
                && e.getMessage().contains("'configuration.json'"), e.getMessage());

        // Right metadata, damaged graph; and metadata that is not JSON.
        Path badGraph = tmp.resolve("badgraph.q4j");
        writeZip(badGraph, new String(readEntry(bytes, "quant4j.json"), java.nio.charset.StandardCharsets.UTF_8),
                new byte[] {1, 2, 3});
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(badGraph.toFile()));
        assertTrue(e.getMessage().contains("badgraph.q4j") && e.getMessage().contains("graph.fb"), e.getMessage());
        Path badJson = tmp.resolve("badjson.q4j");
        writeZip(badJson, "{\"format\":", new byte[] {1});
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(badJson.toFile()));
        assertTrue(e.getMessage().contains("badjson.q4j") && e.getMessage().contains("quant4j.json"), e.getMessage());
        Path foreign = tmp.resolve("foreign.q4j");
        writeZip(foreign, "{\"format\":\"other\",\"version\":1}", new byte[] {1});
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(foreign.toFile()));
        assertTrue(e.getMessage().contains("format 'other'"), e.getMessage());

        // A newer version is refused even when the rest of the file is a good model.
        Path newer = tmp.resolve("newer.q4j");
        String json = new String(readEntry(bytes, "quant4j.json"), java.nio.charset.StandardCharsets.UTF_8)
                .replace("\"version\" : 1", "\"version\" : " + (QuantizedModel.FORMAT_VERSION + 1));
        writeZip(newer, json, readEntry(bytes, "graph.fb"));
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(newer.toFile()));
        assertTrue(e.getMessage().contains("version " + (QuantizedModel.FORMAT_VERSION + 1))
                && e.getMessage().contains("newer quant4j"), e.getMessage());
    }

    @Test
    void anUnwritableTargetLeavesNoFileAndNamesThePath() throws IOException {
        QuantizedModel q = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 1, 8));
        // The target is a non-empty directory: the final rename cannot replace it.
        Path dir = tmp.resolve("out");
        Path target = dir.resolve("model.q4j");
        Files.createDirectories(target);
        Files.writeString(target.resolve("keep.txt"), "user data");
        IOException e = assertThrows(IOException.class, () -> q.save(target.toFile()));
        assertTrue(String.valueOf(e.getMessage()).contains("model.q4j"), e.toString());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("model.q4j"), files.map(p -> p.getFileName().toString()).toList(),
                    "no temporary file left beside the target");
        }
        assertEquals("user data", Files.readString(target.resolve("keep.txt")));

        // The parent is a file, not a directory.
        Path file = tmp.resolve("plain");
        Files.writeString(file, "x");
        e = assertThrows(IOException.class, () -> q.save(file.resolve("model.q4j").toFile()));
        assertTrue(e.getMessage().contains("plain"), e.getMessage());
        assertEquals("x", Files.readString(file));

        // A failed save over an existing model leaves that model as it was.
        Path existing = tmp.resolve("existing.q4j");
        q.save(existing.toFile());
        byte[] before = Files.readAllBytes(existing);
        File dirTarget = tmp.resolve("out").resolve("model.q4j").toFile();
        assertThrows(IOException.class, () -> q.save(dirTarget));
        assertArrayEquals(before, Files.readAllBytes(existing));
        assertFalse(Files.exists(tmp.resolve("out").resolve(".model.q4j.tmp")));
    }

    private static byte[] readEntry(byte[] zipBytes, String name) throws IOException {
        try (java.util.zip.ZipInputStream zip = new java.util.zip.ZipInputStream(
                new java.io.ByteArrayInputStream(zipBytes))) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                if (entry.getName().equals(name)) {
                    return zip.readAllBytes();
                }
            }
        }
        throw new IOException("no entry " + name);
    }

    private static void writeZip(Path path, String metadata, byte[] graph) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(path))) {
            zip.putNextEntry(new ZipEntry("quant4j.json"));
            zip.write(metadata.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("graph.fb"));
            zip.write(graph);
            zip.closeEntry();
        }
    }
}
