package org.quant4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.adapter.SingletonDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.Quantizer;
import org.quant4j.RangeMethod;

/**
 * {@code eval}, {@code bench} and {@code report --model} refuse a quantized model of another network (exit code 2,
 * naming both files and what differs); {@code eval} and {@code quantize} refuse to print results that are not
 * numbers (exit code 1). The
 * quantized model is {@link TinyNetworks#cnn()}'s, calibrated on a few MNIST images; each fp32 network below differs
 * from that CNN in one respect.
 */
class ModelMatchTest {

    @TempDir
    static Path dir;
    static Path cnn;
    static Path q4j;

    @BeforeAll
    static void quantizeTheCnn() throws IOException {
        cnn = TinyNetworks.save(TinyNetworks.cnn(), dir.resolve("cnn.zip"));
        q4j = dir.resolve("cnn.q4j");
        MainTest.Run r = MainTest.run("quantize", cnn.toString(), "-o", q4j.toString(), "--calibration-images", "32",
                "--batch-size", "32", "--method", "minmax");
        assertEquals(Main.OK, r.code(), r.err());
    }

    @Test
    void theNetworkItWasMadeFromMatches() {
        MainTest.Run r = MainTest.run("eval", cnn.toString(), q4j.toString(), "--images", "20");
        assertEquals(Main.OK, r.code(), r.err());
        assertTrue(r.out().contains("top-1 accuracy, 20 test images"), r.out());
    }

    @Test
    void anotherInputShapeIsRefusedByEvalAndBench() throws IOException {
        Path mlp = TinyNetworks.save(TinyNetworks.mlp(), dir.resolve("mlp.zip"));
        String expected = q4j + " is not a quantized model of " + mlp + ": the network takes inputs of shape "
                + "[-1, 784], the quantized model [-1, 1, -1, -1]";
        assertRefused(expected, "eval", mlp.toString(), q4j.toString(), "--images", "20");
        assertRefused(expected, "bench", mlp.toString(), q4j.toString(), "--batches", "1", "--batch-size", "2");
    }

    @Test
    void anotherOutputSizeIsRefused() throws IOException {
        Path five = TinyNetworks.save(TinyNetworks.cnn("", 5), dir.resolve("five-classes.zip"));
        assertRefused(q4j + " is not a quantized model of " + five + ": for inputs of shape [2, 1, 28, 28] the network "
                + "outputs shape [2, 5], the quantized model [2, 10]", "eval", five.toString(), q4j.toString(),
                "--images", "20");
        assertRefused("the network outputs shape [2, 5], the quantized model [2, 10]", "bench", five.toString(),
                q4j.toString(), "--batches", "1", "--batch-size", "2");
    }

    @Test
    void otherLayerNamesAreRefused() throws IOException {
        Path renamed = TinyNetworks.save(TinyNetworks.cnn("my-", 10), dir.resolve("renamed.zip"));
        assertRefused(q4j + " is not a quantized model of " + renamed + ": the quantized model has layer 'conv1' "
                + "(ConvolutionLayer), the network has none of that name (its layers: my-conv1, my-pool1, my-fc1, "
                + "my-out)", "eval", renamed.toString(), q4j.toString(), "--images", "20");
    }

    @Test
    void anotherLayerTypeOfTheSameNameIsRefused() throws IOException {
        Path other = TinyNetworks.save(TinyNetworks.cnnWithConvolutionAsPool(), dir.resolve("conv-pool.zip"));
        assertRefused(q4j + " is not a quantized model of " + other + ": layer 'pool1' is a SubsamplingLayer in the "
                + "quantized model, a ConvolutionLayer in the network", "bench", other.toString(), q4j.toString(),
                "--batches", "1", "--batch-size", "2");
    }

    @Test
    void anotherNumberOfInputsIsRefused() throws IOException {
        Path two = TinyNetworks.save(TinyNetworks.twoInputGraph(), dir.resolve("two-inputs.zip"));
        assertRefused(q4j + " is not a quantized model of " + two + ": the network takes 2 inputs, the quantized "
                + "model 1", "eval", two.toString(), q4j.toString(), "--images", "20");
    }

    /** A ComputationGraph declares no input shape the check reads: the probe batch finds the mismatch. */
    @Test
    void aGraphThatDoesNotTakeTheInputIsRefusedByTheProbe() throws IOException {
        Path rgb = TinyNetworks.save(TinyNetworks.cnnGraph(3), dir.resolve("rgb-graph.zip"));
        assertRefused(q4j + " is not a quantized model of " + rgb + ": the network does not take the quantized "
                + "model's input of shape [2, 1, 28, 28]", "bench", rgb.toString(), q4j.toString(), "--batches", "1",
                "--batch-size", "2");
    }

    @Test
    void reportWithAModelOfAnotherNetworkIsRefused() throws IOException {
        Path five = TinyNetworks.save(TinyNetworks.cnn("", 5), dir.resolve("five-for-report.zip"));
        Path out = dir.resolve("report-out");
        assertRefused(q4j + " is not a quantized model of " + five, "report", q4j.toString(), "-o", out.toString(),
                "--model", five.toString(), "--calibration-images", "8", "--batch-size", "8");
        assertFalse(Files.exists(out.resolve("report.json")), "no report written");
    }

    /** Same layers and shapes, NaN weights: the accuracy of NaN outputs is not printed. */
    @Test
    void nanOutputsAreAFailureNotAnAccuracy() throws IOException {
        Path nan = TinyNetworks.save(TinyNetworks.cnnWithNaNWeights(), dir.resolve("nan.zip"));
        MainTest.Run r = MainTest.run("eval", nan.toString(), q4j.toString(), "--images", "20", "--batch-size", "10");
        assertEquals(Main.FAILED, r.code(), r.out() + r.err());
        OptionBoundsTest.assertOneLine(r, "the fp32 network " + nan + " gives NaN or infinite outputs on test images "
                + "0..9: no accuracy to report");
        assertFalse(r.out().contains("top-1 accuracy"), r.out());
    }

    /** Finite weights whose activations overflow: a NaN layer SQNR is not a report, and the model is not saved. */
    @Test
    void quantizeOfANetworkWhoseValuesOverflowSavesNothing() throws IOException {
        Path huge = TinyNetworks.save(TinyNetworks.cnnWithHugeWeights(), dir.resolve("huge.zip"));
        Path out = dir.resolve("huge.q4j");
        MainTest.Run r = MainTest.run("quantize", huge.toString(), "-o", out.toString(), "--calibration-images", "16",
                "--batch-size", "16", "--method", "minmax");
        assertEquals(Main.FAILED, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("quant4j quantize: the SQNR of layer 'fc1' came out NaN: the network's values on "
                + "the calibration images are not all numbers; nothing saved"), r.err());
        assertFalse(Files.exists(out));
        assertFalse(r.out().contains("SQNR (dB)"), r.out());
    }

    /**
     * bench's batch-size bound lowered by a wide input: 200x200 = 40,000 values per example, so at most 53,687
     * examples per int-indexed batch (not 65,536).
     */
    @Test
    void benchBatchSizeIsBoundedByTheModelsInput() throws IOException {
        var wide = TinyNetworks.wideInput(200);
        Path model = TinyNetworks.save(wide, dir.resolve("wide.zip"));
        Path wideQ4j = dir.resolve("wide.q4j");
        DataSet calibration = new DataSet(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 40_000),
                Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 2));
        Quantizer.quantize(wide, new SingletonDataSetIterator(calibration), QuantizationOptions.builder()
                .rangeMethod(RangeMethod.MINMAX).granularity(Granularity.PER_TENSOR).build()).save(wideQ4j.toFile());
        MainTest.Run r = MainTest.run("bench", model.toString(), wideQ4j.toString(), "--batch-size", "53688");
        assertEquals(Main.USAGE, r.code(), r.err());
        OptionBoundsTest.assertOneLine(r, "--batch-size must be in 1..53687, got 53688");
    }

    private static void assertRefused(String expected, String... args) {
        MainTest.Run r = MainTest.run(args);
        assertEquals(Main.USAGE, r.code(), r.out() + r.err());
        OptionBoundsTest.assertOneLine(r, expected);
        assertFalse(r.out().contains("top-1 accuracy") || r.out().contains("ms per batch"), r.out());
    }
}
