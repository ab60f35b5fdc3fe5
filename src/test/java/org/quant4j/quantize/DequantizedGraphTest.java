package org.quant4j.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.dtype.Cast;
import org.quant4j.QuantizationOptions;
import org.quant4j.TestNetworks;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.BiasCorrection;
import org.quant4j.graph.DequantizedGraph;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.TensorQuantization;

/**
 * The fake-quant graph with its weights dequantized once ({@link DequantizedGraph}) computes bit for bit what the
 * fake-quant graph computes, with no dequantization left to run; it shares the biases, so that a bias corrected in
 * place is seen by both; closing it frees the fp32 weights it made and leaves the fake-quant graph as it was.
 */
class DequantizedGraphTest {

    @Test
    void sameValuesNoDequantizationSharedBiasesFreedOnClose() {
        QuantizationOptions options = QuantizationOptions.builder().weightBits(4).activationBits(8).build();
        ObservedNetwork calibration = QuantizationPipeline.calibrate(Dl4jConverter.convert(TestNetworks.resNetStyle()),
                FeatureBatches.of(TestNetworks.randomIterator(8, new long[] {1, 28, 28}, 10, 3, 7)), options);
        QuantizedNetwork.Whole whole = QuantizationPipeline.quantize(calibration, options);
        ModelGraph quantized = whole.graph();
        List<String> weights = whole.quantizations().stream().filter(t -> t.kind() == TensorQuantization.Kind.WEIGHT)
                .map(TensorQuantization::tensor).toList();
        assertTrue(weights.size() >= 5, weights + "");
        int opsBefore = quantized.graph().getOps().size();
        List<String> layers = quantized.layerOutputs().stream().map(ModelGraph.LayerOutput::variable).distinct()
                .toList();
        INDArray[] batch = calibration.heldBatches().get(0);
        Map<String, INDArray> feed = InputFeed.of(quantized.inputs(), batch, "batch");
        List<INDArray> dequantized = new ArrayList<>();
        try (DequantizedGraph view = DequantizedGraph.of(quantized)) {
            for (SameDiffOp op : view.graph().graph().getOps().values()) {
                assertFalse(op.getOp() instanceof Cast, "a dequantizing cast remains: " + op.getName());
            }
            for (String w : weights) {
                String dq = view.graph().graph().hasVariable(PointNames.dequantizedUnfolded(w))
                        ? PointNames.dequantizedUnfolded(w) : PointNames.dequantized(w);
                assertEquals(VariableType.CONSTANT, view.graph().graph().getVariable(dq).getVariableType(), dq);
                assertEquals(DataType.FLOAT, view.graph().graph().getVariable(dq).getArr().dataType(), dq);
                dequantized.add(view.graph().graph().getVariable(dq).getArr());
            }
            assertSame(quantized, view.graph(), feed, layers, "as made");

            // A bias changed in place in the fake-quant graph is the view's too.
            QuantizableOp op = calibration.ops().stream().filter(o -> !o.type().equals("matmul")).findFirst()
                    .orElseThrow();
            int channels = (int) GraphExecution.output(quantized.graph(), feed, List.of(op.output()))
                    .get(op.output()).size(op.activationAxis());
            double[] shift = new double[channels];
            java.util.Arrays.fill(shift, 0.25);
            INDArray before = GraphExecution.output(view.graph().graph(), feed, List.of(op.output()))
                    .get(op.output()).dup();
            BiasCorrection.apply(quantized.graph(), op, shift);
            assertSame(quantized, view.graph(), feed, layers, "after a bias correction");
            INDArray after = GraphExecution.output(view.graph().graph(), feed, List.of(op.output())).get(op.output());
            assertEquals(-0.25, after.sub(before).meanNumber().doubleValue(), 1e-5, "the shift seen by the view");
        }
        for (INDArray d : dequantized) {
            assertTrue(d.wasClosed(), "a dequantized weight not freed on close");
        }
        assertEquals(opsBefore, quantized.graph().getOps().size(), "the fake-quant graph's ops");
        for (String w : weights) {
            assertEquals(DataType.INT8, quantized.graph().getVariable(PointNames.levels(w)).getArr().dataType(), w);
        }
    }

    /** Every layer output of {@code view} equals the fake-quant graph's, bit for bit. */
    private static void assertSame(ModelGraph quantized, ModelGraph view, Map<String, INDArray> feed,
            List<String> layers, String when) {
        Map<String, INDArray> expected = GraphExecution.output(quantized.graph(), feed, layers);
        Map<String, INDArray> actual = GraphExecution.output(view.graph(), feed, layers);
        for (String layer : layers) {
            assertArrayEquals(expected.get(layer).ravel().toFloatVector(), actual.get(layer).ravel().toFloatVector(),
                    when + ": " + layer);
        }
    }
}
