package org.quant4j.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationOptions;
import org.quant4j.TestNetworks;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.convert.Dl4jConverter;
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
        ObservedNetwork calibration = QuantizationPipeline.calibrate(Dl4jConverter.convert(net),
                FeatureBatches.of(TestNetworks.randomIterator(16, new long[] {1, 28, 28}, 10, 2, 5)), options);
        QuantizedNetwork.Whole q = QuantizationPipeline.quantize(calibration, options);
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
        Map<String, INDArray> quantized = GraphExecution.output(q.graph().graph(), feed, wanted);
        int checked = 0;
        for (int i = 0; i < ops.size(); i++) {
            QuantizableOp op = ops.get(i);
            String point = points.get(i);
            INDArray w = fp32.graph().getArrForVarName(op.weight());
            INDArray fp32Point = feed.containsKey(point) ? feed.get(point) : reference.get(point);
            INDArray alone = probe.outputs(point, fp32Point, List.of(op), Map.of(op.weight(), w)).get(op.output());
            assertEquals(reference.get(op.output()), alone, op.op() + ": fp32 run alone");

            TensorQuantization activation = find(q, TensorQuantization.Kind.ACTIVATION, point);
            TensorQuantization weight = find(q, TensorQuantization.Kind.WEIGHT, op.weight());
            INDArray quantizedPoint = feed.containsKey(point) ? feed.get(point) : quantized.get(point);
            INDArray fake = probe.outputs(point, FakeQuantRewriter.fakeQuantized(quantizedPoint, activation),
                    List.of(op), Map.of(op.weight(), FakeQuantRewriter.dequantizedWeights(w, weight)))
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
    }

    private static TensorQuantization find(QuantizedNetwork q, TensorQuantization.Kind kind, String tensor) {
        return q.quantizations().stream().filter(t -> t.kind() == kind && t.tensor().equals(tensor)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " quantization of '" + tensor + "'"));
    }
}
