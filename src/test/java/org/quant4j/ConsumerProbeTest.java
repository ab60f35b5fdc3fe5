package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.ConsumerProbe;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.TensorQuantization;

/**
 * The probe that the per-point choice measures with: each quantizable op run on its own from its point gives what
 * the fake-quant graph gives, when fed the point's values fake-quantized ({@link FakeQuantRewriter#fakeQuantized})
 * and the weights dequantized; and the fp32 graph's outputs when fed fp32 values and weights.
 */
class ConsumerProbeTest {

    @Test
    void consumersRunOnTheirOwnGiveTheGraphsOutputs() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        QuantizationOptions options = QuantizationOptions.builder().weightBits(4).activationBits(4)
                .biasCorrection(false).build();
        Calibration calibration = Quantizer.calibrate(net,
                TestNetworks.randomIterator(16, new long[] {1, 28, 28}, 10, 2, 5), options);
        QuantizedModel q = calibration.quantize(options);
        ModelGraph fp32 = calibration.fp32Graph();
        List<QuantizableOp> ops = calibration.ops();
        List<String> points = ops.stream().map(op -> calibration.point(op).tensor()).toList();
        ConsumerProbe probe = ConsumerProbe.of(fp32, ops, points);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 1, 28, 28);
        Map<String, INDArray> feed = Map.of(fp32.inputs().get(0).name(), x);
        List<String> wanted = new java.util.ArrayList<>(points.stream().distinct().filter(p -> !feed.containsKey(p))
                .toList());
        ops.forEach(op -> wanted.add(op.output()));
        Map<String, INDArray> reference = GraphExecution.output(fp32.graph(), feed, wanted);
        Map<String, INDArray> quantized = GraphExecution.output(q.graph(), feed, wanted);
        int checked = 0;
        for (int i = 0; i < ops.size(); i++) {
            QuantizableOp op = ops.get(i);
            String point = points.get(i);
            INDArray w = fp32.graph().getArrForVarName(op.weight());
            INDArray fp32Point = feed.containsKey(point) ? feed.get(point) : reference.get(point);
            INDArray alone = probe.outputs(Map.of(point, fp32Point), Map.of(op.weight(), w), List.of(op.output()))
                    .get(op.output());
            assertEquals(reference.get(op.output()), alone, op.op() + ": fp32 run alone");

            TensorQuantization activation = find(q, TensorQuantization.Kind.ACTIVATION, point);
            TensorQuantization weight = find(q, TensorQuantization.Kind.WEIGHT, op.weight());
            INDArray quantizedPoint = feed.containsKey(point) ? feed.get(point) : quantized.get(point);
            INDArray fake = probe.outputs(Map.of(point, FakeQuantRewriter.fakeQuantized(quantizedPoint, activation)),
                    Map.of(op.weight(), FakeQuantRewriter.dequantizedWeights(w, weight)), List.of(op.output()))
                    .get(op.output());
            INDArray expected = quantized.get(op.output());
            double scale = expected.amaxNumber().doubleValue();
            double worst = fake.sub(expected).amaxNumber().doubleValue();
            assertTrue(worst <= 1e-5 * scale, op.op() + ": fake-quant run alone differs by " + worst + " (scale "
                    + scale + ")");
            assertTrue(fake.sub(alone).amaxNumber().doubleValue() > 1e-3 * scale, op.op() + ": 4 bits changed nothing");
            checked++;
        }
        assertEquals(ops.size(), checked);
        assertTrue(checked >= 5, "ops checked: " + checked);
        points.forEach(p -> assertEquals(List.of(), probe.otherReaders(p), p + ": every reader is a consumer"));
    }

    /**
     * A point read by a residual add as well as by a convolution: the add is its other reader, and run on its own from
     * the point's fake-quantized values (its other input from the fp32 values of the point it comes from) it gives
     * the fp32 add with the point's values replaced. Ops between a point and its consumer (a max pooling) are not
     * other readers.
     */
    @Test
    void aResidualAddIsAnOtherReader() {
        org.deeplearning4j.nn.graph.ComputationGraph net = TestNetworks.resNetStyle();
        QuantizationOptions options = QuantizationOptions.builder().weightBits(4).activationBits(4)
                .activationGranularity(Granularity.PER_CHANNEL).biasCorrection(false).build();
        Calibration calibration = Quantizer.calibrate(net, TestNetworks.randomIterator(16, 784, 10, 2, 5), options);
        QuantizedModel q = calibration.quantize(options);
        ModelGraph fp32 = calibration.fp32Graph();
        List<QuantizableOp> ops = calibration.ops();
        ConsumerProbe probe = ConsumerProbe.of(fp32, ops, ops.stream().map(op -> calibration.point(op).tensor())
                .toList());
        List<String> withOthers = probe.points().stream().filter(p -> !probe.otherReaders(p).isEmpty()).toList();
        assertEquals(1, withOthers.size(), "points read by an op other than a consumer: " + withOthers);
        String point = withOthers.get(0);
        String add = probe.otherReaders(point).get(0);
        assertEquals(List.of(add), probe.otherReaders(point));
        String addOp = fp32.graph().getVariables().get(add).getOutputOfOp();
        assertEquals("add", fp32.graph().getOps().get(addOp).getOp().opName(), add);

        Map<String, INDArray> feed = Map.of(fp32.inputs().get(0).name(), Nd4j.rand(DataType.FLOAT, 8, 784));
        List<String> wanted = new java.util.ArrayList<>(probe.points().stream().filter(p -> !feed.containsKey(p))
                .toList());
        String skip = fp32.graph().getOps().get(addOp).getInputsToOp().stream().filter(v -> !v.equals(point))
                .findFirst().orElseThrow();
        wanted.add(add);
        wanted.add(skip);
        Map<String, INDArray> computed = GraphExecution.output(fp32.graph(), feed, wanted);
        Map<String, INDArray> values = new java.util.HashMap<>();
        probe.points().forEach(p -> values.put(p, feed.containsKey(p) ? feed.get(p) : computed.get(p)));
        Map<String, INDArray> weights = new java.util.HashMap<>();
        ops.forEach(op -> weights.put(op.weight(), fp32.graph().getArrForVarName(op.weight())));
        assertEquals(computed.get(add), probe.outputs(values, weights, List.of(add)).get(add), "fp32 run alone");

        TensorQuantization activation = find(q, TensorQuantization.Kind.ACTIVATION, point);
        INDArray quantizedPoint = FakeQuantRewriter.fakeQuantized(values.get(point), activation);
        Map<String, INDArray> changed = new java.util.HashMap<>(values);
        changed.put(point, quantizedPoint);
        INDArray alone = probe.outputs(changed, weights, List.of(add)).get(add);
        INDArray expected = computed.get(skip).add(quantizedPoint);
        double worst = alone.sub(expected).amaxNumber().doubleValue();
        assertTrue(worst <= 1e-5 * expected.amaxNumber().doubleValue(), "add run alone differs by " + worst);
        assertTrue(alone.sub(computed.get(add)).amaxNumber().doubleValue() > 1e-3, "4 bits changed nothing");

        QuantizationOptions w8 = QuantizationOptions.defaults();
        MultiLayerNetwork pooled = TestNetworks.cnn();
        Calibration c = Quantizer.calibrate(pooled, TestNetworks.randomIterator(16, 784, 10, 2, 5), w8);
        ConsumerProbe maxPooled = ConsumerProbe.of(c.fp32Graph(), c.ops(), c.ops().stream()
                .map(op -> c.point(op).tensor()).toList());
        maxPooled.points().forEach(p -> assertEquals(List.of(), maxPooled.otherReaders(p),
                p + ": a max pooling before a consumer is not an other reader"));
    }

    private static TensorQuantization find(QuantizedModel q, TensorQuantization.Kind kind, String tensor) {
        return q.quantizations().stream().filter(t -> t.kind() == kind && t.tensor().equals(tensor)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " quantization of '" + tensor + "'"));
    }
}
