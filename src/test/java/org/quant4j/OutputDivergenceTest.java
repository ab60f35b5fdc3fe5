package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.ModelGraph;

/** The two measures the per-point granularity checks its choices with. */
class OutputDivergenceTest {

    @Test
    void klDivergenceOfRowsByHand() {
        INDArray p = Nd4j.create(new double[][] {{0.5, 0.5, 0.0}, {0.1, 0.2, 0.7}});
        INDArray q = Nd4j.create(new double[][] {{0.25, 0.75, 0.0}, {0.1, 0.2, 0.7}});
        double expected = 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75); // second row: 0
        assertEquals(expected, OutputDivergence.klSum(p, q), 1e-12);
        assertEquals(0, OutputDivergence.klSum(p, p), 1e-12);
        assertTrue(OutputDivergence.klSum(p, Nd4j.create(new double[][] {{1, 0, 0}, {0.1, 0.2, 0.7}})) > 10,
                "a class the quantized network calls impossible costs much");
    }

    @Test
    void aSoftmaxOutputIsMeasuredByKlAndByItsLogitsAndBothGrowWithFewerBits() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        Calibration calibration = Quantizer.calibrate(net,
                TestNetworks.randomIterator(16, new long[] {1, 28, 28}, 10, 2, 5), QuantizationOptions.defaults());
        ModelGraph fp32 = calibration.fp32Graph();
        List<INDArray[]> batches = List.<INDArray[]>of(new INDArray[] {Nd4j.rand(DataType.FLOAT, 16, 1, 28, 28)});
        assertEquals(new OutputDivergence(0, 0), OutputDivergence.of(fp32, fp32, batches));
        QuantizedModel w4a4Model = calibration.quantize(QuantizationOptions.builder().weightBits(4).activationBits(4)
                .build());
        OutputDivergence w8a8 = OutputDivergence.of(fp32,
                graphOf(fp32, calibration.quantize(QuantizationOptions.defaults())), batches);
        OutputDivergence w4a4 = OutputDivergence.of(fp32, graphOf(fp32, w4a4Model), batches);
        assertTrue(w8a8.kl() > 0 && w8a8.noiseToSignal() > 0, "W8A8 " + w8a8);
        assertTrue(w8a8.closerThan(w4a4) && !w4a4.closerThan(w8a8), "W8A8 " + w8a8 + ", W4A4 " + w4a4);
        INDArray x = batches.get(0)[0];
        String output = fp32.outputs().get(0);
        INDArray p = org.quant4j.graph.GraphExecution.output(fp32.graph(),
                java.util.Map.of(fp32.inputs().get(0).name(), x), List.of(output)).get(output).castTo(DataType.DOUBLE);
        double byHand = OutputDivergence.klSum(p, w4a4Model.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]
                .castTo(DataType.DOUBLE)) / 16;
        assertEquals(byHand, w4a4.kl(), 1e-6 * w4a4.kl());
    }

    @Test
    void closerMeansCloserByBothMeasures() {
        OutputDivergence a = new OutputDivergence(0.1, 0.2);
        assertTrue(new OutputDivergence(0.05, 0.1).closerThan(a));
        assertTrue(new OutputDivergence(0.1, 0.1).closerThan(a));
        assertTrue(!new OutputDivergence(0.05, 0.3).closerThan(a), "closer by one measure only");
        assertTrue(!a.closerThan(a), "not closer than itself");
    }

    private static ModelGraph graphOf(ModelGraph fp32, QuantizedModel q) {
        return new ModelGraph(q.graph(), fp32.inputs(), fp32.outputs(), fp32.layerOutputs());
    }
}
