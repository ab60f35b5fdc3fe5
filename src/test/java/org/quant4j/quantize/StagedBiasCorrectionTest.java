package org.quant4j.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationOptions;
import org.quant4j.TestNetworks;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.BiasCorrection;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.StagedRun;

/**
 * The staged run that bias correction measures with gives, for every op in turn, what running the graph from its
 * inputs gives at that moment, biases changed after each op included; and the correction it makes is the sequential
 * one: afterwards every op's mean output error per channel on the held batches is zero (each op was corrected with
 * the ops before it already corrected, and the ops after it do not change its output).
 */
class StagedBiasCorrectionTest {

    private static ModelGraph network(String name) {
        return switch (name) {
            case "resnet" -> Dl4jConverter.convert(TestNetworks.resNetStyle());
            case "mobilenet" -> Dl4jConverter.convert(TestNetworks.mobileNetStyle());
            case "squeezenet" -> Dl4jConverter.convert(TestNetworks.squeezeNetStyle());
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static ObservedNetwork calibrate(ModelGraph net, QuantizationOptions options) {
        return QuantizationPipeline.calibrate(net,
                FeatureBatches.of(TestNetworks.randomIterator(8, new long[] {1, 28, 28}, 10, 3, 7)), options);
    }

    /** Held values in memory (a budget of 1 GB), and all in the temporary file (a budget of 0 bytes). */
    @ParameterizedTest
    @CsvSource({"resnet, 1073741824", "mobilenet, 1073741824", "squeezenet, 1073741824", "resnet, 0",
        "squeezenet, 0"})
    void eachValueIsTheGraphsFromItsInputsWithTheBiasesChangedBefore(String name, long budget) {
        QuantizationOptions options = QuantizationOptions.builder().weightBits(4).activationBits(4)
                .biasCorrection(false).build();
        ObservedNetwork calibration = calibrate(network(name), options);
        ModelGraph quantized = QuantizationPipeline.quantize(calibration, options).graph();
        List<QuantizableOp> ops = calibration.ops().stream().filter(op -> !op.type().equals("matmul")).toList();
        List<INDArray[]> batches = calibration.heldBatches();
        assertTrue(ops.size() >= 5 && batches.size() >= 2, ops.size() + " ops, " + batches.size() + " batches");
        Random random = new Random(3);
        List<String> visited = new ArrayList<>();
        try (StagedRun staged = StagedRun.of(quantized, ops.stream().map(QuantizableOp::activation).toList(),
                batches, ops.stream().map(QuantizableOp::output).toList(), budget)) {
            for (QuantizableOp op : ops) {
                String target = op.output();
                INDArray value = null;
                for (int batch = 0; batch < batches.size(); batch++) {
                    INDArray previous = value;
                    value = staged.value(target, batch);
                    assertTrue(previous == null || previous.wasClosed(), target + ": a value not freed at the next");
                    Map<String, INDArray> feed = InputFeed.of(quantized.inputs(), batches.get(batch), "batch");
                    INDArray fromInputs = GraphExecution.output(quantized.graph(), feed, List.of(target))
                            .get(target);
                    assertEquals(java.util.Arrays.toString(fromInputs.shape()), java.util.Arrays.toString(value.shape()));
                    double scale = fromInputs.amaxNumber().doubleValue();
                    double diff = fromInputs.sub(value).amaxNumber().doubleValue();
                    assertTrue(diff <= 1e-5 * scale, target + " batch " + batch + ": staged value differs by "
                            + diff + " (largest value " + scale + ")");
                    visited.add(target + "@" + batch);
                }
                int n = (int) value.size(op.activationAxis());
                staged.done(target);
                assertTrue(value.wasClosed(), target + ": the last value not freed when done");
                double[] shift = IntStream.range(0, n).mapToDouble(c -> random.nextGaussian()).toArray();
                BiasCorrection.apply(quantized.graph(), op, shift);
            }
        }
        assertEquals(ops.size() * batches.size(), visited.size(), "values visited");
    }

    /**
     * A run that reads the graph unchanged, cut at the targets themselves (the report's layer outputs): each value is
     * the graph's from its inputs, in memory and all in the file, and closing the run frees every value it made.
     */
    @ParameterizedTest
    @CsvSource({"resnet, 1073741824", "squeezenet, 1073741824", "resnet, 0"})
    void aReadingRunCutAtItsTargetsGivesTheGraphsValues(String name, long budget) {
        QuantizationOptions options = QuantizationOptions.builder().weightBits(4).activationBits(4).build();
        ObservedNetwork calibration = calibrate(network(name), options);
        ModelGraph quantized = QuantizationPipeline.quantize(calibration, options).graph();
        List<String> targets = quantized.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).distinct()
                .toList();
        List<INDArray[]> batches = calibration.heldBatches();
        assertTrue(targets.size() >= 5 && batches.size() >= 2, targets.size() + " targets, " + batches.size()
                + " batches");
        List<INDArray> handedOut = new ArrayList<>();
        try (StagedRun staged = StagedRun.reading(quantized, targets, batches, targets, budget)) {
            for (String target : targets) {
                for (int batch = 0; batch < batches.size(); batch++) {
                    INDArray value = staged.value(target, batch);
                    handedOut.add(value);
                    Map<String, INDArray> feed = InputFeed.of(quantized.inputs(), batches.get(batch), "batch");
                    INDArray fromInputs = GraphExecution.output(quantized.graph(), feed, List.of(target))
                            .get(target);
                    double scale = fromInputs.amaxNumber().doubleValue();
                    double diff = fromInputs.sub(value).amaxNumber().doubleValue();
                    assertTrue(diff <= 1e-5 * scale, target + " batch " + batch + ": staged value differs by "
                            + diff + " (largest value " + scale + ")");
                }
                staged.done(target);
            }
        }
        assertEquals(targets.size() * batches.size(), handedOut.size());
        for (INDArray value : handedOut) {
            assertTrue(value.wasClosed() || !value.closeable(), "a value left alive after the run was closed");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet", "mobilenet"})
    void afterTheCorrectionEveryOpsMeanErrorIsZero(String name) {
        QuantizationOptions options = QuantizationOptions.builder().weightBits(4).activationBits(4).build();
        ObservedNetwork calibration = calibrate(network(name), options);
        ModelGraph fp32 = calibration.fp32Graph();
        ModelGraph quantized = QuantizationPipeline.quantize(calibration, options.toBuilder().biasCorrection(false)
                .build()).graph();
        List<QuantizableOp> ops = calibration.ops().stream().filter(op -> !op.type().equals("matmul")).toList();
        double before = worstMeanError(fp32, quantized, ops, calibration.heldBatches());
        MeasuredBiasCorrection.apply(calibration, ops, quantized);
        double after = worstMeanError(fp32, quantized, ops, calibration.heldBatches());
        assertTrue(before > 1e-2, "4-bit quantization shifted no mean: " + before);
        assertTrue(after < 1e-4, "worst channel mean error relative to the output's scale after the correction "
                + after + " (before " + before + ")");
    }

    /** The largest |mean error| of any channel of any op's output on {@code batches}, over the output's largest value. */
    private static double worstMeanError(ModelGraph fp32, ModelGraph quantized, List<QuantizableOp> ops,
            List<INDArray[]> batches) {
        double worst = 0;
        for (QuantizableOp op : ops) {
            INDArray sum = null;
            double scale = 0;
            long count = 0;
            for (INDArray[] batch : batches) {
                Map<String, INDArray> feed = InputFeed.of(fp32.inputs(), batch, "batch");
                INDArray y = GraphExecution.output(fp32.graph(), feed, List.of(op.output())).get(op.output());
                INDArray q = GraphExecution.output(quantized.graph(), feed, List.of(op.output())).get(op.output());
                int[] others = IntStream.range(0, y.rank()).filter(d -> d != op.activationAxis()).toArray();
                INDArray error = q.castTo(DataType.DOUBLE).sub(y.castTo(DataType.DOUBLE)).sum(others);
                sum = sum == null ? error : sum.add(error);
                scale = Math.max(scale, y.amaxNumber().doubleValue());
                count += y.length() / error.length();
            }
            worst = Math.max(worst, sum.div(count).amaxNumber().doubleValue() / scale);
        }
        return worst;
    }
}
