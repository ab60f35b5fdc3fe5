package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/** The crossLayerEqualization option end to end: calibration, the model's options, its file. */
class CrossLayerEqualizationOptionTest {

    private static INDArray output(ModelGraph g, INDArray x) {
        return GraphExecution.output(g.graph(), Map.of(g.inputs().get(0).name(), x), g.outputs())
                .get(g.outputs().get(0));
    }

    private static double relativeError(INDArray expected, INDArray actual) {
        return expected.sub(actual).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
    }

    @Test
    void equalizesTheCalibratedGraphAndRecordsIt(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        INDArray params = net.params().dup();
        QuantizationOptions cle = QuantizationOptions.builder().calibrationBatches(2).crossLayerEqualization(true)
                .build();
        Calibration equalized = Quantizer.calibrate(net, TestNetworks.randomIterator(16, 784, 10, 2, 5), cle);
        Calibration plain = Quantizer.calibrate(net, TestNetworks.randomIterator(16, 784, 10, 2, 5),
                QuantizationOptions.builder().calibrationBatches(2).build());
        assertEquals(params, net.params(), "the user's network was changed");

        // Other weights, the same fp32 function.
        String first = org.quant4j.graph.CrossLayerEqualization.pairs(plain.fp32Graph()).get(0).first();
        var sd = plain.fp32Graph().graph();
        String dw = sd.getOps().get(sd.getVariables().get(first).getOutputOfOp()).getInputsToOp().get(1);
        assertNotEquals(plain.fp32Graph().graph().getVariable(dw).getArr(),
                equalized.fp32Graph().graph().getVariable(dw).getArr());
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 784);
        double err = relativeError(output(plain.fp32Graph(), x), output(equalized.fp32Graph(), x));
        assertTrue(err < 1e-5, "equalized fp32 graph differs by " + err);

        // The model says it was equalized, whatever the options passed to quantize said; the file keeps it.
        QuantizedModel q = equalized.quantize(QuantizationOptions.defaults());
        assertTrue(q.options().crossLayerEqualization());
        assertFalse(plain.quantize(cle).options().crossLayerEqualization());
        File file = dir.resolve("cle.q4j").toFile();
        q.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        assertTrue(loaded.options().crossLayerEqualization());
        assertEquals(q.output(x), loaded.output(x));
    }
}
