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
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.convert.UnsupportedLayerException;
import org.quant4j.graph.ModelGraph;
import org.quant4j.report.LayerSqnr;
import org.quant4j.report.SqnrMeter;
import org.quant4j.quantize.PerChannelCheck;
import org.quant4j.quantize.OutputDivergence;

class QuantizerTest {

    @TempDir
    Path tmp;

    private static double sqnr(INDArray reference, INDArray quantized) {
        SqnrMeter m = new SqnrMeter();
        m.add(reference, quantized);
        return m.sqnrDb();
    }

    @Test
    void cnnQuantizesWithHighSqnrAndReportsEveryLayer() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 4, 21));
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 784);
        double db = sqnr(net.output(x), q.output(x));
        assertTrue(db > 25, "W8A8 output SQNR " + db + " dB");
        assertTrue(db < 200, "output identical to fp32: nothing was quantized");
        List<LayerSqnr> layers = q.report().layers();
        // bn1 is folded into conv1, so it is no layer of its own any more.
        assertEquals(net.getnLayers() - 1, layers.size());
        assertTrue(layers.stream().noneMatch(l -> l.layer().equals("bn1")));
        assertEquals(List.of("conv1/preact", "conv2/preact", "fc1/preact", "out/preact"), q.report().quantizedOps());
        // conv1 reads the quantized input, so every layer carries quantization noise.
        for (LayerSqnr l : layers) {
            assertTrue(Double.isFinite(l.sqnrDb()) && l.sqnrDb() > 15, l.toString());
        }
        assertTrue(q.report().sqnrTable().contains("conv2"));
    }

    @Test
    @Tag("slow")
    void oneCalibrationGivesWhatQuantizeGivesForEveryOption() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizationOptions base = QuantizationOptions.builder().calibrationBatches(3).build();
        Calibration calibration = Quantizer.calibrate(net, TestNetworks.randomIterator(16, 784, 10, 4, 21), base);
        assertEquals(3, calibration.batches());
        assertEquals(48, calibration.samples());
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 784);
        for (QuantizationOptions o : List.of(base,
                QuantizationOptions.builder().calibrationBatches(3).rangeMethod("patent").activationBits(4).build(),
                QuantizationOptions.builder().calibrationBatches(3).rangeMethod("mse").weightBits(4)
                        .granularity(Granularity.PER_TENSOR).build())) {
            QuantizedModel once = calibration.quantize(o);
            QuantizedModel direct = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 4, 21), o);
            assertEquals(direct.quantizations().size(), once.quantizations().size());
            for (int i = 0; i < once.quantizations().size(); i++) {
                assertArrayEquals(direct.quantizations().get(i).scales(), once.quantizations().get(i).scales(),
                        o + ": " + once.quantizations().get(i).tensor());
            }
            assertEquals(direct.output(x), once.output(x));
        }
        // Per-tensor ranges come from the merged channels: one scale per activation tensor.
        QuantizedModel perTensor = calibration.quantize(QuantizationOptions.builder()
                .granularity(Granularity.PER_TENSOR).build());
        perTensor.quantizations().forEach(t -> assertEquals(1, t.scales().length, t.tensor()));
    }

    @Test
    @Tag("slow")
    void sequentialCalibrationSolvesRangesOnTheQuantizedNetwork() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizationOptions.Builder w4a4 = QuantizationOptions.builder().calibrationBatches(3).rangeMethod("minmax")
                .weightBits(4).activationBits(4);
        Calibration calibration = Quantizer.calibrate(net, TestNetworks.randomIterator(16, 784, 10, 4, 21),
                w4a4.sequentialPasses(1).build());
        QuantizedModel fromFp32 = calibration.quantize(w4a4.sequentialPasses(0).build());
        QuantizedModel sequential = calibration.quantize(w4a4.sequentialPasses(1).build());
        assertEquals(fromFp32.quantizations().size(), sequential.quantizations().size());
        int changed = 0;
        for (int i = 0; i < fromFp32.quantizations().size(); i++) {
            var before = fromFp32.quantizations().get(i);
            var after = sequential.quantizations().get(i);
            assertEquals(before.tensor(), after.tensor());
            if (before.kind() == org.quant4j.graph.TensorQuantization.Kind.ACTIVATION
                    && before.tensor().equals(fromFp32.quantizations().get(0).tensor())) {
                // the network input: nothing is quantized before it, so its ranges cannot move
                assertArrayEquals(before.scales(), after.scales(), before.tensor());
            } else if (!java.util.Arrays.equals(before.scales(), after.scales())) {
                changed++;
            }
        }
        assertTrue(changed > 0, "sequential calibration changed no range");
        // the one-call path keeps the batches itself and gives the same model
        QuantizedModel direct = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 4, 21),
                w4a4.sequentialPasses(1).build());
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 784);
        assertEquals(direct.output(x), sequential.output(x));
        // a calibration that did not keep its batches says what to do
        Calibration once = Quantizer.calibrate(net, TestNetworks.randomIterator(16, 784, 10, 4, 21),
                w4a4.sequentialPasses(0).build());
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> once.quantize(w4a4.sequentialPasses(1).build()));
        assertTrue(e.getMessage().contains("sequentialPasses"), e.getMessage());
    }

    /**
     * Granularity per point: every activation point gets exactly the scales of the per-channel or of the per-tensor
     * quantization (nothing else), the weights follow the choice, and the int8 plan runs the mixed model as the
     * fake-quant graph does.
     */
    @Test
    @Tag("slow")
    void granularityPerPointChoosesPerChannelOrPerTensorScalesAndRunsInInt8() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        QuantizationOptions.Builder w4a4 = QuantizationOptions.builder().calibrationBatches(4).weightBits(4)
                .activationBits(4);
        Calibration calibration = Quantizer.calibrate(net,
                TestNetworks.randomIterator(16, new long[] {1, 28, 28}, 10, 4, 5), w4a4.build());
        QuantizedModel perChannel = calibration.quantize(w4a4.activationGranularity(Granularity.PER_CHANNEL).build());
        QuantizedModel perTensor = calibration.quantize(w4a4.activationGranularity(Granularity.PER_TENSOR).build());
        QuantizedModel perPoint = calibration.quantize(w4a4.activationGranularity(Granularity.PER_POINT).build());
        assertEquals(Granularity.PER_POINT, QuantizationOptions.defaults().activationGranularity(),
                "per-point is the default");
        int tensorPoints = 0;
        int channelPoints = 0;
        int activationPoints = 0;
        for (int i = 0; i < perPoint.quantizations().size(); i++) {
            var chosen = perPoint.quantizations().get(i);
            if (chosen.kind() != org.quant4j.graph.TensorQuantization.Kind.ACTIVATION) {
                continue;
            }
            activationPoints++;
            var pc = perChannel.quantizations().get(i);
            var pt = perTensor.quantizations().get(i);
            assertEquals(pc.tensor(), chosen.tensor());
            boolean isPc = java.util.Arrays.equals(pc.scales(), chosen.scales());
            boolean isPt = java.util.Arrays.equals(pt.scales(), chosen.scales());
            assertTrue(isPc || isPt, chosen.tensor() + ": scales of neither granularity");
            tensorPoints += isPt && !isPc ? 1 : 0;
            channelPoints += isPc && !isPt ? 1 : 0;
        }
        System.out.printf("granularity per point: %d of %d activation points per tensor%n", tensorPoints,
                activationPoints);
        assertEquals("per-point (" + channelPoints + " of " + activationPoints
                + " points per-channel) activations, per-channel weights", perPoint.report().granularity());
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 1, 28, 28);
        assertEquals(QuantizedModel.Execution.INT8, perPoint.execution(), String.valueOf(perPoint.int8Unavailable()));
        INDArray int8 = perPoint.outputs(QuantizedModel.Execution.INT8, x)[0];
        INDArray fake = perPoint.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        assertTrue(int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().intValue() >= 31,
                "int8 and fake-quant top-1 agree on at least 31 of 32 inputs");
    }

    /**
     * The per-point check on real networks: per-channel scales replace a quantization that is farther from fp32
     * (here per-tensor scales everywhere at W4A4, as a stand-in for poor choices) when the held examples show it
     * beyond chance, and not on four examples, which cannot show it; nor when the two are the same network.
     */
    @Test
    void perPointCheckReplacesTheChoicesOnlyOnSignificantEvidence() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        QuantizationOptions.Builder w4a4 = QuantizationOptions.builder().weightBits(4).activationBits(4);
        Calibration calibration = Quantizer.calibrate(net,
                TestNetworks.randomIterator(32, new long[] {32, 1, 28, 28}, 10, 2, 5), w4a4.build());
        ModelGraph fp32 = calibration.fp32Graph();
        ModelGraph perChannel = graphOf(fp32,
                calibration.quantize(w4a4.activationGranularity(Granularity.PER_CHANNEL).build()));
        ModelGraph perTensor = graphOf(fp32,
                calibration.quantize(w4a4.activationGranularity(Granularity.PER_TENSOR).build()));
        Nd4j.getRandom().setSeed(8);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 1, 28, 28);
        List<INDArray[]> many = List.<INDArray[]>of(new INDArray[] {x});
        List<INDArray[]> four = List.<INDArray[]>of(new INDArray[] {x.get(NDArrayIndex.interval(0, 4))});
        double[][] divergences = OutputDivergence.perExample(fp32, List.of(perChannel, perTensor), many);
        double[] channels = divergences[0];
        double[] tensor = divergences[1];
        assertTrue(java.util.Arrays.stream(channels).sum() < java.util.Arrays.stream(tensor).sum(),
                "per-channel closer than per-tensor in total on 64 examples");
        assertTrue(PerChannelCheck.perChannelReplaces(fp32, perChannel, perTensor, many), "64 examples");
        assertFalse(PerChannelCheck.perChannelReplaces(fp32, perChannel, perTensor, four), "4 examples");
        assertFalse(PerChannelCheck.perChannelReplaces(fp32, perTensor, perChannel, many), "the other way round");
        assertFalse(PerChannelCheck.perChannelReplaces(fp32, perChannel, perChannel, many), "the same network");
    }

    private static ModelGraph graphOf(ModelGraph fp32, QuantizedModel q) {
        return new ModelGraph(q.graph(), fp32.inputs(), fp32.outputs(), fp32.layerOutputs());
    }

    @Test
    void computationGraphQuantizes() {
        ComputationGraph net = TestNetworks.residualGraph();
        QuantizedModel q = Quantizer.quantize(net,
                TestNetworks.randomIterator(8, new long[] {8, 2, 12, 12}, 4, 3, 4));
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 2, 12, 12);
        double db = sqnr(net.outputSingle(x), q.output(x));
        assertTrue(db > 25 && db < 200, "output SQNR " + db + " dB");
    }

    /** A CNN built by hand in SameDiff, with NHWC-free defaults: conv2d (OIYX) -> relu -> maxpool -> matmul. */
    private static SameDiff handBuiltCnn() {
        Nd4j.getRandom().setSeed(17);
        SameDiff sd = SameDiff.create();
        SDVariable in = sd.placeHolder("image", DataType.FLOAT, -1, 3, 8, 8);
        SDVariable w = sd.var("convW", Nd4j.randn(DataType.FLOAT, 4, 3, 3, 3).muli(0.3));
        SDVariable b = sd.var("convB", Nd4j.randn(DataType.FLOAT, 4).muli(0.1));
        SDVariable conv = sd.cnn.conv2d("conv", in, w, b, Conv2DConfig.builder().kH(3).kW(3)
                .weightsFormat(WeightsFormat.OIYX).dataFormat(Conv2DConfig.NCHW).build());
        SDVariable relu = sd.nn.relu("relu", conv, 0);
        SDVariable pool = sd.cnn.maxPooling2d("pool", relu, Pooling2DConfig.builder().kH(2).kW(2).sH(2).sW(2).build());
        SDVariable flat = sd.reshape("flat", pool, -1, 4 * 3 * 3);
        SDVariable fcW = sd.var("fcW", Nd4j.randn(DataType.FLOAT, 36, 5).muli(0.2));
        SDVariable logits = sd.mmul("logits", flat, fcW);
        sd.nn.softmax("probs", logits, 1);
        return sd;
    }

    @Test
    void handBuiltSameDiffCnnGoesThroughTheSameCall() {
        SameDiff sd = handBuiltCnn();
        INDArray convWBefore = sd.getVariable("convW").getArr().dup();
        List<String> opsBefore = new ArrayList<>(sd.getOps().keySet());
        QuantizedModel q = Quantizer.quantize(sd, TestNetworks.randomIterator(8, new long[] {8, 3, 8, 8}, 5, 3, 6));
        assertEquals(List.of("conv", "logits"), q.report().quantizedOps());
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 3, 8, 8);
        INDArray expected = sd.outputSingle(java.util.Map.of("image", x), "probs");
        double db = sqnr(expected, q.output(x));
        assertTrue(db > 25 && db < 200, "output SQNR " + db + " dB");
        // The user's graph is untouched.
        assertEquals(convWBefore, sd.getVariable("convW").getArr());
        assertEquals(opsBefore, new ArrayList<>(sd.getOps().keySet()));
        assertEquals(expected, sd.outputSingle(java.util.Map.of("image", x), "probs"));
    }

    @Test
    void convolutionWeightsInSameDiffsDefaultLayoutAreQuantizedPerOutputChannel() {
        // YXIO [kH, kW, in, out]: SameDiff's default, and a layout a copy of the graph reports wrongly in its config.
        Nd4j.getRandom().setSeed(23);
        SameDiff sd = SameDiff.create();
        SDVariable in = sd.placeHolder("image", DataType.FLOAT, -1, 3, 8, 8);
        SDVariable w = sd.var("convW", Nd4j.randn(DataType.FLOAT, 3, 3, 3, 6).muli(0.3));
        SDVariable conv = sd.cnn.conv2d("conv", in, w, Conv2DConfig.builder().kH(3).kW(3)
                .weightsFormat(WeightsFormat.YXIO).dataFormat(Conv2DConfig.NCHW).build());
        sd.nn.relu("out", conv, 0);
        QuantizedModel q = Quantizer.quantize(sd, TestNetworks.randomIterator(8, new long[] {8, 3, 8, 8}, 5, 3, 6));
        var weights = FakeQuantReferenceTest.find(q, "convW");
        assertEquals(3, weights.axis(), "output-channel axis of YXIO weights");
        assertEquals(6, weights.scales().length);
        assertEquals(2, weights.inputAxis(), "input-channel axis of YXIO weights");
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 3, 8, 8);
        double db = sqnr(sd.outputSingle(java.util.Map.of("image", x), "out"), q.output(x));
        assertTrue(db > 30 && db < 200, "output SQNR " + db + " dB");
    }

    @Test
    void saveAndLoadGiveIdenticalOutputs() throws IOException {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 2, 8));
        File file = tmp.resolve("cnn.q4j").toFile();
        q.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        INDArray x = Nd4j.rand(DataType.FLOAT, 10, 784);
        assertEquals(q.output(x), loaded.output(x));
        assertEquals(q.quantizations(), loaded.quantizations());
        assertEquals(q.report().withoutTimings(), loaded.report(), "the report, less the timings files do not store");
        assertEquals(q.options(), loaded.options());
        try (var files = Files.list(tmp)) {
            assertEquals(List.of("cnn.q4j"), files.map(p -> p.getFileName().toString()).toList(),
                    "the atomic save leaves no temporary file");
        }
        // Weights are stored as INT8: the file is far smaller than the fp32 parameters alone.
        long fp32Bytes = net.numParams() * 4L;
        assertTrue(file.length() < fp32Bytes, file.length() + " bytes vs " + fp32Bytes + " fp32 parameter bytes");
    }

    @Test
    void damagedOrForeignFilesGiveClearErrors() throws IOException {
        QuantizedModel q = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 1, 8));
        File good = tmp.resolve("good.q4j").toFile();
        q.save(good);
        byte[] bytes = Files.readAllBytes(good.toPath());

        Path truncated = tmp.resolve("truncated.q4j");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        QuantizationException e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(truncated.toFile()));
        assertTrue(e.getMessage().contains("truncated.q4j"), e.getMessage());

        Path text = tmp.resolve("notes.txt");
        Files.writeString(text, "not a model");
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(text.toFile()));
        assertTrue(e.getMessage().contains("notes.txt") && e.getMessage().contains("not a quant4j model"), e.getMessage());

        Path newer = tmp.resolve("newer.q4j");
        writeZip(newer, "{\"format\":\"quant4j-model\",\"version\":99}");
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(newer.toFile()));
        assertTrue(e.getMessage().contains("version 99"), e.getMessage());

        assertThrows(java.nio.file.NoSuchFileException.class, () -> QuantizedModel.load(tmp.resolve("absent").toFile()));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> q.save(tmp.resolve("no/such/dir/x.q4j").toFile()));
    }

    private static void writeZip(Path path, String metadata) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(path))) {
            zip.putNextEntry(new ZipEntry("quant4j.json"));
            zip.write(metadata.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("graph.fb"));
            zip.write(new byte[] {1, 2, 3});
            zip.closeEntry();
        }
    }

    @Test
    void emptyCalibrationDataIsAClearErrorAndTheNetworkIsUnchanged() {
        MultiLayerNetwork net = TestNetworks.cnn();
        INDArray before = net.params().dup();
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(net, new ListDataSetIterator<>(new ArrayList<DataSet>(), 8)));
        assertTrue(e.getMessage().contains("calibration data is empty"), e.getMessage());
        assertEquals(before, net.params());
    }

    @Test
    void featuresOfTheWrongShapeAreNamedWithBothShapes() {
        MultiLayerNetwork net = TestNetworks.cnn();
        INDArray before = net.params().dup();
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(net, TestNetworks.randomIterator(4, new long[] {4, 1, 28, 27}, 10, 1, 1)));
        assertTrue(e.getMessage().contains("[4, 1, 28, 27]") && e.getMessage().contains("[-1, 784]")
                && e.getMessage().contains("calibration batch 0"), e.getMessage());
        assertEquals(before, net.params());
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(4, 784, 10, 1, 1));
        e = assertThrows(QuantizationException.class, () -> q.output(Nd4j.rand(DataType.FLOAT, 2, 783)));
        assertTrue(e.getMessage().contains("[2, 783]"), e.getMessage());
        // Image batches of 784 values each are flattened, as DL4J does for convolutionalFlat networks.
        INDArray images = Nd4j.rand(DataType.FLOAT, 3, 1, 28, 28);
        assertEquals(q.output(images.reshape(3, 784)), q.output(images));
    }

    @Test
    void unsupportedLayerIsNamedAndTheNetworkIsUnchanged() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new DenseLayer.Builder().name("dense").nIn(4).nOut(3).build())
                .layer(CustomBidirectionalLstm.of("rnn", 3, 3, Activation.TANH))
                .layer(new OutputLayer.Builder().name("out").nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        INDArray before = net.params().dup();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> Quantizer.quantize(net, TestNetworks.randomIterator(4, 4, 2, 1, 1)));
        assertTrue(e.getMessage().contains("layer 1 'rnn' of type CustomBidirectionalLstm"), e.getMessage());
        assertEquals(before, net.params());
    }

    @Test
    void quantizeNeverChangesTheNetworkNorItsOutputs() {
        MultiLayerNetwork net = TestNetworks.cnn();
        INDArray params = net.params().dup();
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
        INDArray out = net.output(x).dup();
        Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 2, 9),
                QuantizationOptions.builder().weightBits(2).activationBits(2).build());
        assertEquals(params, net.params());
        assertEquals(out, net.output(x));
    }

    @Test
    void layersKeptInFp32AreNotQuantizedAndUnknownNamesAreErrors() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 2, 9),
                QuantizationOptions.builder().keepFp32("conv1", "out").build());
        assertEquals(List.of("conv2/preact", "fc1/preact"), q.report().quantizedOps());
        assertEquals(List.of("conv1/preact", "out/preact"), q.report().keptFp32Ops());
        assertTrue(Double.isInfinite(q.report().layers().get(0).sqnrDb()), "conv1 in fp32 is exact");
        QuantizationException e = assertThrows(QuantizationException.class, () -> Quantizer.quantize(net,
                TestNetworks.randomIterator(16, 784, 10, 1, 9), QuantizationOptions.builder().keepFp32("nope").build()));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("conv2"), e.getMessage());
    }

    @Test
    void fewerBitsGiveLowerSqnrAndPerTensorIsNoBetterThanPerChannel() {
        MultiLayerNetwork net = TestNetworks.cnn();
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 784);
        double w8a8 = sqnr(net.output(x), Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 4, 2))
                .output(x));
        double w4a4 = sqnr(net.output(x), Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 4, 2),
                QuantizationOptions.builder().weightBits(4).activationBits(4).build()).output(x));
        assertTrue(w4a4 < w8a8 - 10, "W4A4 " + w4a4 + " dB vs W8A8 " + w8a8 + " dB");
        QuantizedModel perTensor = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 4, 2),
                QuantizationOptions.builder().granularity(Granularity.PER_TENSOR).build());
        assertTrue(perTensor.quantizations().stream().allMatch(t -> t.scales().length == 1));
    }

    @Test
    void badOptionsAreRejectedWithTheirValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QuantizationOptions.builder().weightBits(9).build());
        assertTrue(e.getMessage().contains("9"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> QuantizationOptions.builder().rangeMethod("magic").build());
        assertTrue(e.getMessage().contains("magic") && e.getMessage().contains("minmax"), e.getMessage());
        assertArrayEquals(new int[] {2, QuantizationOptions.AUTO_WEIGHT_BITS},
                new int[] {QuantizationOptions.builder().activationBits(2).build()
                .activationBits(), QuantizationOptions.defaults().weightBits()});
        e = assertThrows(IllegalArgumentException.class, () -> QuantizationOptions.builder().weightBits(1).build());
        assertTrue(e.getMessage().contains("1"), e.getMessage());
        assertFalse(QuantizationOptions.defaults().keepFp32().iterator().hasNext());
        e = assertThrows(IllegalArgumentException.class,
                () -> QuantizationOptions.builder().weightGranularity(Granularity.PER_POINT).build());
        assertTrue(e.getMessage().contains("per-point") && e.getMessage().contains("weights"), e.getMessage());
        assertEquals(Granularity.PER_CHANNEL,
                QuantizationOptions.builder().granularity(Granularity.PER_POINT).build().weightGranularity());
        assertEquals(Granularity.PER_POINT, Granularity.parse("Per_Point"));
        e = assertThrows(IllegalArgumentException.class, () -> Granularity.parse("per-layer"));
        assertTrue(e.getMessage().contains("per-layer") && e.getMessage().contains("per-tensor"), e.getMessage());
        // bias correction: on unless set (decided when quantizing: resolved)
        assertTrue(QuantizationOptions.builder().weightBits(8).activationBits(8).build().resolved(8).biasCorrection());
        assertFalse(QuantizationOptions.builder().weightBits(8).activationBits(8).biasCorrection(false).build()
                .resolved(8).biasCorrection());
        assertTrue(QuantizationOptions.builder().weightBits(8).activationBits(4).build().resolved(8).biasCorrection());
        assertTrue(QuantizationOptions.builder().weightBits(4).activationBits(8).build().resolved(8).biasCorrection());
        assertFalse(QuantizationOptions.builder().weightBits(4).biasCorrection(false).build().resolved(8)
                .biasCorrection());
        assertTrue(QuantizationOptions.builder().weightBits(8).activationBits(8).biasCorrection(true).build()
                .resolved(8).biasCorrection());
    }

}
