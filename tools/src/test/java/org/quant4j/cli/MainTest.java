package org.quant4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.quant4j.QuantizedModel;

/**
 * Every subcommand run in-process ({@link Main#run(PrintStream, PrintStream, String...)}) on small real inputs: a
 * tiny DL4J network saved to a file, MNIST calibration on a few images; and bad command lines.
 */
class MainTest {

    @TempDir
    static Path dir;
    static Path modelFile;
    static Path q4j;
    static Path reportDir;
    static Run quantized;

    /** What a run printed and returned. */
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void quantizeOnce() throws IOException {
        modelFile = TinyNetworks.save(TinyNetworks.cnn(), dir.resolve("tiny.zip"));
        q4j = dir.resolve("out/tiny.q4j");
        reportDir = dir.resolve("report");
        quantized = run("quantize", modelFile.toString(), "-o", q4j.toString(), "--calibration", "mnist",
                "--calibration-images", "96", "--batch-size", "32", "--method", "patent", "--weight-bits", "6",
                "--report", reportDir.toString());
    }

    @Test
    void quantizeWritesTheModelTheReportAndProgressLines() throws IOException {
        assertEquals(0, quantized.code(), quantized.err());
        assertTrue(Files.isRegularFile(q4j));
        QuantizedModel q = QuantizedModel.load(q4j.toFile());
        assertEquals(6, q.options().weightBits());
        assertEquals(org.quant4j.RangeMethod.FITTED_PDF, q.options().activationRangeMethod());
        assertEquals(96, q.report().calibrationSamples());
        assertTrue(quantized.out().contains("SQNR (dB)"), quantized.out());
        assertTrue(quantized.err().contains("calibration: 100% (3/3 batches)"), quantized.err());
        assertTrue(Files.isRegularFile(reportDir.resolve("index.html")));
        JsonNode json = new ObjectMapper().readTree(reportDir.resolve("report.json").toFile());
        assertEquals(3, json.get("worstLayers").size());
        assertFalse(json.get("channels").isEmpty(), "channel histograms");
        assertNotNull(json.get("channels").get(0).get("first").numberValue(), "patent first range");
    }

    @Test
    void quantizeDynamicReadsNoCalibrationData() throws IOException {
        Path mlp = TinyNetworks.save(TinyNetworks.mlp(), dir.resolve("mlp-dynamic.zip"));
        Path out = dir.resolve("out/mlp-dynamic.q4j");
        Run r = run("quantize", mlp.toString(), "-o", out.toString(), "--dynamic");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("dynamically (no calibration data)"), r.out());
        assertFalse(r.err().contains("calibration:"), r.err());
        QuantizedModel q = QuantizedModel.load(out.toFile());
        assertEquals(0, q.report().calibrationSamples());
        assertFalse(q.quantizations().isEmpty());
        assertTrue(q.quantizations().stream().allMatch(t -> t.kind() == org.quant4j.graph.TensorQuantization.Kind.WEIGHT
                && t.input() == null), "dynamic: weights only, no activation point");
        Run bad = run("quantize", mlp.toString(), "--dynamic", "--report", dir.resolve("dyn-report").toString());
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("--dynamic reads no calibration data"), bad.err());
        Run length = run("quantize", mlp.toString(), "--sequence-length", "28");
        assertEquals(2, length.code(), length.err());
        assertTrue(length.err().contains("--sequence-length is read only with --dynamic"), length.err());
    }

    @Test
    void exportWritesTheQuantizedModelAndTheFp32NetworkAsOnnx() throws IOException {
        assertEquals(0, quantized.code(), quantized.err());
        Path onnx = dir.resolve("out/tiny.onnx");
        Run r = run("export", q4j.toString(), "-o", onnx.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("ONNX opset 13, qdq"), r.out());
        java.util.List<String> ops = onnxOps(onnx);
        assertTrue(ops.contains("QuantizeLinear") && ops.contains("DequantizeLinear"), ops.toString());
        Path fp32 = dir.resolve("out/tiny-fp32.onnx");
        Run f = run("export", modelFile.toString(), "--fp32", "-o", fp32.toString());
        assertEquals(0, f.code(), f.err());
        java.util.List<String> fp32Ops = onnxOps(fp32);
        assertTrue(fp32Ops.contains("Conv") && !fp32Ops.contains("QuantizeLinear"), fp32Ops.toString());
        Run bad = run("export", q4j.toString(), "--form", "int4");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--form: 'int4' is not qdq or exact"), bad.err());
    }

    private static java.util.List<String> onnxOps(Path file) throws IOException {
        onnx.Onnx.ModelProto m = onnx.Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        assertEquals(13, m.getOpsetImport(0).getVersion());
        return m.getGraph().getNodeList().stream().map(onnx.Onnx.NodeProto::getOpType).distinct().toList();
    }

    @Test
    void evalAddsAccuracyToTheReport() throws IOException {
        Run r = run("eval", modelFile.toString(), q4j.toString(), "--data", "mnist", "--images", "120",
                "--batch-size", "50", "--report", reportDir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("top-1 accuracy, 120 test images"), r.out());
        assertTrue(r.err().contains("evaluation: 100% (3/3 batches)"), r.err());
        JsonNode accuracy = new ObjectMapper().readTree(reportDir.resolve("report.json").toFile()).get("accuracy");
        assertEquals(120, accuracy.get("images").asInt());
        double agreement = accuracy.get("agreement").asDouble();
        assertTrue(agreement > 0.5 && agreement <= 1, "agreement " + agreement);
    }

    @Test
    void benchPrintsALabelledRatio() throws IOException {
        Path own = dir.resolve("bench-report");
        Run r = run("bench", modelFile.toString(), q4j.toString(), "--batches", "2", "--warmup", "1",
                "--batch-size", "4", "--report", own.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("not JMH"), r.out());
        assertTrue(r.out().contains("quantized speed / fp32 speed"), r.out());
        JsonNode speed = new ObjectMapper().readTree(own.resolve("report.json").toFile()).get("speed");
        assertEquals(2, speed.get("batches").asInt());
        assertTrue(speed.get("fp32MsPerBatch").asDouble() > 0);
    }

    @Test
    void reportFromTheModelFileAloneAndWithStatistics() throws IOException {
        Path plain = dir.resolve("plain-report");
        Run r = run("report", q4j.toString(), "-o", plain.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode json = new ObjectMapper().readTree(plain.resolve("report.json").toFile());
        assertTrue(json.get("channels").isEmpty());
        assertTrue(json.get("ranges").get(0).get("observedMax").isNull());

        Path full = dir.resolve("full-report");
        r = run("report", q4j.toString(), "-o", full.toString(), "--model", modelFile.toString(),
                "--calibration-images", "96", "--batch-size", "32", "--layer", "fc1");
        assertEquals(0, r.code(), r.err());
        json = new ObjectMapper().readTree(full.resolve("report.json").toFile());
        assertEquals("fc1", json.get("chosenLayer").asText());
        assertFalse(json.get("ranges").get(0).get("observedMax").isNull());
    }

    @Test
    @Tag("slow")
    void quantizesAComputationGraphFileAndAZooModel() throws IOException {
        Path graph = TinyNetworks.save(TinyNetworks.graph(), dir.resolve("graph.zip"));
        Run r = run("quantize", graph.toString(), "-o", dir.resolve("graph.q4j").toString(),
                "--calibration-images", "32", "--granularity", "per-tensor");
        assertEquals(0, r.code(), r.err());
        assertEquals("per-tensor activations, per-tensor weights",
                QuantizedModel.load(dir.resolve("graph.q4j").toFile()).report().granularity());

        r = run("quantize", "lenet", "-o", dir.resolve("lenet.q4j").toString(), "--calibration-images", "16");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("LeNet (zoo, random weights, seed 42)"), r.out());
    }

    @Test
    @Tag("slow")
    void quantizeTakesCrossLayerEqualization() throws IOException {
        Path net = TinyNetworks.save(TinyNetworks.graph(), dir.resolve("graph-cle.zip"));
        Run r = run("quantize", net.toString(), "-o", dir.resolve("cle.q4j").toString(), "--calibration-images", "32",
                "--cross-layer-equalization");
        assertEquals(0, r.code(), r.err());
        assertTrue(org.quant4j.QuantizedModel.load(dir.resolve("cle.q4j").toFile()).options()
                .crossLayerEqualization());
    }

    @Test
    void quantizeTakesTheFourBitPresetAndAdaRound() throws IOException {
        Path net = TinyNetworks.save(TinyNetworks.graph(), dir.resolve("graph-w4.zip"));
        Run r = run("quantize", net.toString(), "-o", dir.resolve("w4.q4j").toString(), "--calibration-images", "32",
                "--preset", "w4");
        assertEquals(0, r.code(), r.err());
        var options = org.quant4j.QuantizedModel.load(dir.resolve("w4.q4j").toFile()).options();
        assertEquals(org.quant4j.QuantizationOptions.fourBit().build().weightBits(), options.weightBits());
        assertEquals(4, options.weightBits());
        assertEquals(org.quant4j.QuantizationOptions.DEFAULT_ADAROUND_ITERATIONS, options.adaroundIterations());
        assertEquals(8, options.activationBits());
        assertEquals(org.quant4j.RangeMethod.MSE, options.weightRangeMethod());
        assertEquals(org.quant4j.RangeMethod.FITTED_PDF, options.activationRangeMethod());
        Run m = run("quantize", net.toString(), "-o", dir.resolve("w4-minmax.q4j").toString(), "--calibration-images",
                "32", "--preset", "w4", "--method", "minmax");
        assertEquals(0, m.code(), m.err());
        var minmax = org.quant4j.QuantizedModel.load(dir.resolve("w4-minmax.q4j").toFile()).options();
        assertEquals(org.quant4j.RangeMethod.MINMAX, minmax.weightRangeMethod(), "--method names both");
        assertEquals(org.quant4j.RangeMethod.MINMAX, minmax.activationRangeMethod());
        Run n = run("quantize", net.toString(), "-o", dir.resolve("ada.q4j").toString(), "--calibration-images", "32",
                "--weight-bits", "5", "--adaround", "20");
        assertEquals(0, n.code(), n.err());
        var ada = org.quant4j.QuantizedModel.load(dir.resolve("ada.q4j").toFile()).options();
        assertEquals(20, ada.adaroundIterations());
        assertEquals(5, ada.weightBits());
    }

    @Test
    @Tag("slow")
    void quantizeTakesZeroPoints() throws IOException {
        Path net = TinyNetworks.save(TinyNetworks.graph(), dir.resolve("graph-zp.zip"));
        Run r = run("quantize", net.toString(), "-o", dir.resolve("zp.q4j").toString(), "--calibration-images", "32",
                "--zero-points", "on");
        assertEquals(0, r.code(), r.err());
        assertEquals(org.quant4j.ZeroPoints.ON, org.quant4j.QuantizedModel.load(dir.resolve("zp.q4j").toFile())
                .options().activationZeroPoints());
        Run bad = run("quantize", net.toString(), "--zero-points", "sometimes");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--zero-points: unknown zero-point setting 'sometimes' (known: off, per-point,"
                + " on)"), bad.err());
    }

    @Test
    @Tag("slow")
    void quantizeTakesBiasCorrectionAndSequentialPasses() throws IOException {
        Path graph = TinyNetworks.save(TinyNetworks.graph(), dir.resolve("graph-bc.zip"));
        Run plain = run("quantize", graph.toString(), "-o", dir.resolve("plain.q4j").toString(),
                "--calibration-images", "32", "--weight-bits", "4", "--activation-bits", "4", "--no-bias-correction");
        assertEquals(0, plain.code(), plain.err());
        Run r = run("quantize", graph.toString(), "-o", dir.resolve("bc.q4j").toString(),
                "--calibration-images", "32", "--weight-bits", "4", "--activation-bits", "4", "--bias-correction",
                "--sequential-passes", "1");
        assertEquals(0, r.code(), r.err());
        // the options reach the quantizer: the model differs from the one without them
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("plain.q4j")),
                Files.readAllBytes(dir.resolve("bc.q4j"))));
        Run bad = run("quantize", graph.toString(), "--sequential-passes", "-1");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--sequential-passes must be in 0..10, got -1"), bad.err());
        Run bits = run("accuracy", "--bits", "W9A4");
        assertEquals(2, bits.code());
        assertTrue(bits.err().contains("--bits: 'W9A4'"), bits.err());
        Run granularity = run("accuracy", "--granularities", "per-layer");
        assertEquals(2, granularity.code());
        assertTrue(granularity.err().contains("--granularities: unknown granularity 'per-layer'"), granularity.err());
    }

    @Test
    void quantizeWithinAnAccuracyBudget() throws IOException {
        Path met = dir.resolve("budget.q4j");
        Run r = run("quantize", modelFile.toString(), "-o", met.toString(), "--calibration-images", "32",
                "--max-accuracy-drop", "100", "--validation-images", "200");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(met));
        assertTrue(r.out().contains("accuracy budget 100.00: fp32 top-1 ") && r.out().contains("on 200 validation "
                + "examples; kept in fp32: none; 2 validation passes, 0 ranking quantizations"), r.out());

        Path notMet = dir.resolve("not-met.q4j");
        Run impossible = run("quantize", modelFile.toString(), "-o", notMet.toString(), "--calibration-images", "32",
                "--weight-bits", "2", "--activation-bits", "2", "--max-accuracy-drop", "0", "--confidence", "0.999",
                "--max-evaluations", "3", "--validation", "fashion-mnist", "--validation-images", "200");
        assertEquals(1, impossible.code(), impossible.out());
        assertTrue(impossible.err().contains("accuracy budget of 0.000 not met") && impossible.err().contains(
                "after 3 validation passes"), impossible.err());
        assertFalse(Files.exists(notMet), "nothing saved when the budget is not met");

        Run noBudget = run("quantize", modelFile.toString(), "--validation", "mnist");
        assertEquals(2, noBudget.code());
        assertTrue(noBudget.err().contains("--validation is read only with --max-accuracy-drop"), noBudget.err());
        Path csv = Files.writeString(dir.resolve("own.csv"), "0,1\n");
        Run own = run("quantize", modelFile.toString(), "--calibration", csv.toString(), "--max-accuracy-drop", "1");
        assertEquals(2, own.code());
        assertTrue(own.err().contains("needs --validation DATA"), own.err());
        Run confidence = run("quantize", modelFile.toString(), "--max-accuracy-drop", "1", "--confidence", "1");
        assertEquals(2, confidence.code());
        assertTrue(confidence.err().contains("--confidence must be in 0.5..0.999, got 1.0"), confidence.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"quantize", "eval", "bench", "report", "demo", "train", "accuracy", "ranges"})
    void helpOfEverySubcommand(String command) {
        Run r = run(command, "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("Usage: quant4j " + command), r.out());
    }

    /**
     * {@code ranges}: a row per activation point and a total, each method's error relative to the best, so the
     * best method of every row reads +0.0 %; MSE, which minimizes exactly that error over a fine grid of clips, is
     * never worse than MinMax.
     */
    @Test
    void rangesComparesTheMethodsPointByPoint() {
        Run r = run("ranges", modelFile.toString(), "--calibration", "mnist", "--calibration-images", "64",
                "--bits", "4", "--methods", "mse,minmax,patent");
        assertEquals(0, r.code(), r.err());
        List<String> rows = r.out().lines().filter(l -> l.matches("^\\S.*\\s[us]4\\s.*") || l.startsWith("all points"))
                .toList();
        assertTrue(rows.size() >= 3, r.out());
        for (String row : rows) {
            String[] cells = row.trim().split("\\s+");
            double mse = Double.parseDouble(cells[cells.length - 3].replace("%", ""));
            double minmax = Double.parseDouble(cells[cells.length - 2].replace("%", ""));
            double patent = Double.parseDouble(cells[cells.length - 1].replace("%", ""));
            assertEquals(0, Math.min(mse, Math.min(minmax, patent)), 0.0, row);
            assertTrue(mse <= minmax, row);
        }
        Run bad = run("ranges", modelFile.toString(), "--bits", "9");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--bits must be in 2..8"), bad.err());
    }

    @Test
    void unknownReferenceNetworkOrMethodIsAUsageError() {
        Run train = run("train", "vgg-mnist");
        assertEquals(2, train.code());
        assertTrue(train.err().contains("unknown reference network 'vgg-mnist'"), train.err());
        Run accuracy = run("accuracy", "--networks", "lenet-mnist,nope");
        assertEquals(2, accuracy.code());
        assertTrue(accuracy.err().contains("--networks: unknown reference network 'nope'"), accuracy.err());
        Run method = run("accuracy", "--methods", "minmax,median");
        assertEquals(2, method.code());
        assertTrue(method.err().contains("--methods: unknown range method 'median'"), method.err());
    }

    @Test
    void accuracyWithoutTrainedNetworksSaysHowToMakeThem() {
        Run r = run("accuracy", "--networks", "lenet-mnist", "--models", dir.resolve("none").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("./quant4j train lenet-mnist"), r.err());
    }

    @Test
    void missingModelFileIsOneLineAndExitOne() {
        Run r = run("quantize", dir.resolve("nope.zip").toString());
        assertEquals(1, r.code());
        assertOneLine(r, "nope.zip: no such model file, and not a DL4J zoo model name");
    }

    @Test
    void unknownZooModel() {
        Run r = run("quantize", "NoSuchNet");
        assertEquals(1, r.code());
        assertOneLine(r, "known: LeNet, SimpleCNN");
    }

    @Test
    void notAModelFile() throws IOException {
        Path junk = Files.writeString(dir.resolve("junk.zip"), "not a zip");
        Run r = run("eval", junk.toString(), q4j.toString());
        assertEquals(1, r.code());
        assertOneLine(r, "is not a DL4J model file");
    }

    @Test
    void unreadableDataIsOneLineAndVerboseGivesTheStackTrace() throws IOException {
        Path data = dir.resolve("bad-data");
        Path mnist = Files.createDirectories(data.resolve("mnist"));
        for (String f : org.quant4j.data.Dataset.MNIST.files()) {
            Files.writeString(mnist.resolve(f), "garbage");
        }
        Run r = run("quantize", modelFile.toString(), "-o", dir.resolve("x.q4j").toString(), "--data-dir",
                data.toString(), "--calibration-images", "8");
        assertEquals(1, r.code());
        assertOneLine(r, "train-images-idx3-ubyte");

        r = run("quantize", modelFile.toString(), "-o", dir.resolve("x.q4j").toString(), "--data-dir",
                data.toString(), "--calibration-images", "8", "--verbose");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("\tat org.quant4j."), r.err());
    }

    @Test
    void bitsOutOfRangeIsUsage() {
        Run r = run("quantize", modelFile.toString(), "--weight-bits", "9");
        assertEquals(2, r.code());
        assertOneLine(r, "--weight-bits must be in 2..8, got 9");
    }

    @Test
    void unknownOptionMethodAndDataAreUsage() {
        assertEquals(2, run("quantize", modelFile.toString(), "--bogus").code());
        Run r = run("quantize", modelFile.toString(), "--method", "nonsense");
        assertEquals(2, r.code());
        assertOneLine(r, "--method");
        r = run("eval", modelFile.toString(), q4j.toString(), "--data", "cifar");
        assertEquals(2, r.code());
        assertOneLine(r, "unknown data set 'cifar'");
        assertEquals(2, run("eval", modelFile.toString()).code());
    }

    private static void assertOneLine(Run r, String expected) {
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "one line expected:\n" + err);
        assertTrue(err.contains(expected), err);
        assertFalse(err.contains("\tat "), err);
    }
}
