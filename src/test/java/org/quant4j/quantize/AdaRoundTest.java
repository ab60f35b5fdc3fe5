package org.quant4j.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.QuantizableOp;

/**
 * AdaRound on a MobileNet-style network (a convolution, depthwise and pointwise convolutions, a dense layer) at
 * 4-bit weights: the output error it reports is the one the graphs give, it never grows, the fitted weight scales
 * are a minimum of the measured error and are the graph's, the result is deterministic, and the int8 plan computes
 * what the fake-quant graph does.
 */
class AdaRoundTest {

    private static final QuantizationOptions W4A8 = QuantizationOptions.builder().weightBits(4).activationBits(8)
            .biasCorrection(false).calibrationBatches(3).reportBatches(3).build();

    private static ObservedNetwork calibrate(MultiLayerNetwork net) {
        return QuantizationPipeline.calibrate(Dl4jConverter.convert(net),
                FeatureBatches.of(TestNetworks.randomIterator(16, new long[] {1, 28, 28}, 10, 3, 5)), W4A8);
    }

    /** {@code ||y~ - y||^2} per output column (summed over channels), the op's output in both graphs. */
    private static double measuredError(ObservedNetwork calibration, ModelGraph quantized, QuantizableOp op) {
        ModelGraph fp32 = calibration.fp32Graph();
        double sum = 0;
        long columns = 0;
        for (INDArray[] batch : calibration.heldBatches()) {
            Map<String, INDArray> feed = InputFeed.of(fp32.inputs(), batch, "batch");
            INDArray y = GraphExecution.output(fp32.graph(), feed, List.of(op.output())).get(op.output());
            INDArray yq = GraphExecution.output(quantized.graph(), feed, List.of(op.output())).get(op.output());
            sum += yq.sub(y).norm2Number().doubleValue() * yq.sub(y).norm2Number().doubleValue();
            columns += y.length() / y.size(1);
        }
        return sum / columns;
    }

    /** The op's weight levels times their scales, as the graph computes them ({@code <W>:dq}). */
    private static INDArray dequantized(ModelGraph graph, QuantizableOp op) {
        String name = PointNames.dequantized(op.weight());
        return GraphExecution.output(graph.graph(), Map.of(), List.of(name)).get(name).castTo(DataType.FLOAT);
    }

    @Test
    void learnedRoundingLowersEveryLayersErrorAsMeasured() {
        ObservedNetwork calibration = calibrate(TestNetworks.mobileNetStyle());
        QuantizedNetwork.Whole nearest = QuantizationPipeline.quantize(calibration, W4A8);
        ModelGraph learned = nearest.graph().copy();
        AdaRound.Outcome outcome = AdaRound.apply(calibration, calibration.ops(), nearest.quantizations(), learned,
                300);
        List<AdaRound.Result> results = outcome.results();
        assertEquals(calibration.ops().size(), results.size(), "every op of this network is taken");

        QuantizableOp first = calibration.ops().get(0);
        double measuredNearest = measuredError(calibration, nearest.graph(), first);
        double measuredLearned = measuredError(calibration, learned, first);
        assertEquals(measuredNearest, results.get(0).nearest(), 1e-3 * measuredNearest, "nearest, " + first.op());
        assertEquals(measuredLearned, results.get(0).learned(), 1e-3 * measuredNearest, "learned, " + first.op());
        for (AdaRound.Result r : results) {
            assertTrue(r.learned() <= r.nearest() * (1 + 1e-4), r + ": the error grew");
        }
        assertTrue(results.stream().anyMatch(r -> r.learned() < 0.9 * r.nearest()), "no layer gained: " + results);

        boolean changed = false;
        for (QuantizableOp op : calibration.ops()) {
            String levels = PointNames.levels(op.weight());
            assertEquals(DataType.INT8, learned.graph().getVariable(levels).getArr().dataType());
            changed |= !dequantized(nearest.graph(), op).equals(dequantized(learned, op));
        }
        assertTrue(changed, "no weight rounded otherwise");
        // The fitted scales minimize the measured output error: 2 % larger or smaller scales raise it.
        for (double factor : new double[] {0.98, 1.02}) {
            ModelGraph moved = learned.copy();
            String scale = PointNames.scale(first.weight());
            moved.graph().getVariable(scale).setArray(moved.graph().getVariable(scale).getArr().mul(factor));
            assertTrue(measuredError(calibration, moved, first) > measuredLearned, "scales times " + factor);
        }
        for (var t : outcome.quantizations()) {
            if (t.kind() == org.quant4j.graph.TensorQuantization.Kind.WEIGHT) {
                assertEquals(Nd4j.create(t.scales(), t.scaleShape(), 'c'),
                        learned.graph().getVariable(PointNames.scale(t.tensor())).getArr().castTo(DataType.FLOAT),
                        t.tensor() + ": the graph's scales are not the fitted ones");
            }
        }

        ModelGraph again = nearest.graph().copy();
        AdaRound.apply(calibration, calibration.ops(), nearest.quantizations(), again, 300);
        for (QuantizableOp op : calibration.ops()) {
            String levels = PointNames.levels(op.weight());
            assertEquals(learned.graph().getVariable(levels).getArr(), again.graph().getVariable(levels).getArr(),
                    op.op() + ": not deterministic");
        }
    }

    @Test
    void theOptionRunsItAndTheInt8PlanAgrees() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        INDArray params = net.params().dup();
        QuantizationOptions ada = QuantizationOptions.builder().weightBits(4).activationBits(8).adaround(200)
                .calibrationBatches(3).build();
        QuantizedModel withAda = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 3, 5), ada);
        QuantizedModel plain = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 3, 5),
                QuantizationOptions.builder().weightBits(4).activationBits(8).calibrationBatches(3).build());
        assertEquals(params, net.params(), "the user's network was changed");
        assertEquals(200, withAda.options().adaroundIterations());
        assertFalse(withAda.int8Unavailable() != null, "int8: " + withAda.int8Unavailable());
        INDArray x = Nd4j.rand(DataType.FLOAT, 256, 784);
        INDArray fake = withAda.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        INDArray int8 = withAda.outputs(QuantizedModel.Execution.INT8, x)[0];
        INDArray same = fake.argMax(1).eq(int8.argMax(1)).castTo(DataType.FLOAT);
        assertTrue(same.meanNumber().doubleValue() >= 0.99, "top-1 agreement " + same.meanNumber());
        assertTrue(fake.sub(int8).amaxNumber().doubleValue() < 1e-2, "int8 differs by " + fake.sub(int8).amaxNumber());
        assertNotEquals(plain.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0], fake);
    }
}
