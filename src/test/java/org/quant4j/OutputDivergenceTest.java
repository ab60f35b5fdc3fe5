package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.quantize.OutputDivergence;

/** The divergence the per-point granularity checks its choices with, and its significance test. */
class OutputDivergenceTest {

    @Test
    void klDivergenceOfRowsByHand() {
        INDArray p = Nd4j.create(new double[][] {{0.5, 0.5, 0.0}, {0.1, 0.2, 0.7}});
        INDArray q = Nd4j.create(new double[][] {{0.25, 0.75, 0.0}, {0.1, 0.2, 0.7}});
        double first = 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75);
        assertArrayEquals(new double[] {first, 0}, OutputDivergence.klRows(p, q), 1e-12);
        assertTrue(OutputDivergence.klRows(p, Nd4j.create(new double[][] {{1, 0, 0}, {0.1, 0.2, 0.7}}))[0] > 10,
                "a class the quantized network calls impossible costs much");
    }

    @Test
    void eachExampleOfASoftmaxOutputIsMeasuredByKlAndTheDivergenceGrowsAsBitsFall() {
        MultiLayerNetwork net = TestNetworks.mobileNetStyle();
        Calibration calibration = Quantizer.calibrate(net,
                TestNetworks.randomIterator(16, new long[] {16, 1, 28, 28}, 10, 2, 5), QuantizationOptions.defaults());
        ModelGraph fp32 = calibration.fp32Graph();
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 1, 28, 28);
        List<INDArray[]> batches = List.<INDArray[]>of(new INDArray[] {x.get(
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 10))}, new INDArray[] {x.get(
                org.nd4j.linalg.indexing.NDArrayIndex.interval(10, 16))});
        // Without bias correction: the divergence measured is that of the bits alone.
        QuantizedModel w4a4Model = calibration.quantize(QuantizationOptions.builder().weightBits(4).activationBits(4)
                .biasCorrection(false).build());
        double[][] divergences = OutputDivergence.perExample(fp32, List.of(fp32,
                graphOf(fp32, calibration.quantize(QuantizationOptions.builder().biasCorrection(false).build())),
                graphOf(fp32, w4a4Model)),
                batches);
        assertArrayEquals(new double[16], divergences[0], 1e-12, "fp32 against itself");
        double[] w8a8 = divergences[1];
        double[] w4a4 = divergences[2];
        assertEquals(16, w4a4.length);
        double sum8 = Arrays.stream(w8a8).sum();
        double sum4 = Arrays.stream(w4a4).sum();
        assertTrue(sum8 > 0 && sum8 < sum4, "W8A8 " + sum8 + ", W4A4 " + sum4);
        assertTrue(OutputDivergence.significantlyCloser(w8a8, w4a4), "16 examples, W8A8 closer than W4A4");
        String output = fp32.outputs().get(0);
        INDArray p = GraphExecution.output(fp32.graph(), Map.of(fp32.inputs().get(0).name(), x), List.of(output))
                .get(output).castTo(DataType.DOUBLE);
        double[] byHand = OutputDivergence.klRows(p, w4a4Model.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0]
                .castTo(DataType.DOUBLE));
        for (int e = 0; e < 16; e++) {
            assertEquals(byHand[e] / 16, w4a4[e], 1e-6 * byHand[e] / 16 + 1e-15, "example " + e);
        }
    }

    @Test
    void anOutputWithoutSoftmaxIsMeasuredByEachExamplesShareOfTheNoiseToSignalRatio() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(20).nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(5).activation(Activation.IDENTITY)
                        .build())
                .build());
        net.init();
        Calibration calibration = Quantizer.calibrate(net, TestNetworks.randomIterator(8, 20, 5, 2, 3),
                QuantizationOptions.defaults());
        ModelGraph fp32 = calibration.fp32Graph();
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 20);
        QuantizedModel q = calibration.quantize(QuantizationOptions.builder().weightBits(4).activationBits(4).build());
        double[] measured = OutputDivergence.perExample(fp32, List.of(graphOf(fp32, q)),
                List.<INDArray[]>of(new INDArray[] {x}))[0];
        String output = fp32.outputs().get(0);
        INDArray y = GraphExecution.output(fp32.graph(), Map.of(fp32.inputs().get(0).name(), x), List.of(output))
                .get(output).castTo(DataType.DOUBLE);
        INDArray e = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0].castTo(DataType.DOUBLE).sub(y);
        double signal = y.mul(y).sumNumber().doubleValue();
        for (int i = 0; i < 8; i++) {
            double share = e.getRow(i).mul(e.getRow(i)).sumNumber().doubleValue() / signal;
            assertEquals(share, measured[i], 1e-9 * share + 1e-15, "example " + i);
        }
        assertTrue(Arrays.stream(measured).sum() > 0);
    }

    @Test
    void theSignFlipTestByHand() {
        double[] worse = {1, 2, 3, 4, 5, 6};
        // Five of six examples closer by 0.5, one equal (left out): only the all-positive sign vector of 32 reaches
        // the observed sum.
        double[] closer = {0.5, 1.5, 2.5, 3.5, 4.5, 6};
        assertEquals(1 / 32.0, OutputDivergence.pCloser(closer, worse), 1e-12);
        assertTrue(OutputDivergence.significantlyCloser(closer, worse));
        assertEquals(1.0, OutputDivergence.pCloser(worse, closer), 1e-12, "the other way round: every sum reaches");
        assertFalse(OutputDivergence.significantlyCloser(worse, closer));
        // Four differing examples can never be significant at 5 % (1/16 > 0.05).
        assertEquals(1 / 16.0, OutputDivergence.pCloser(new double[] {0, 0, 0, 0}, new double[] {9, 9, 9, 9}),
                1e-12);
        assertFalse(OutputDivergence.significantlyCloser(new double[] {0, 0, 0, 0}, new double[] {9, 9, 9, 9}));
        assertEquals(1.0, OutputDivergence.pCloser(worse, worse), 1e-12, "no differing example");
        // Closer in total through one example (d = 4.9), the other five split by 0.1: the sum reaches 4.8 with +4.9
        // and at most one more -0.1 than +0.1 among the five (26 of their 32 sign vectors): p = 26 / 64.
        assertEquals(26 / 64.0, OutputDivergence.pCloser(new double[] {0.1, 2.1, 2.9, 4.1, 4.9, 6.1},
                new double[] {5, 2, 3, 4, 5, 6}), 1e-12);
        assertThrows(IllegalArgumentException.class,
                () -> OutputDivergence.pCloser(new double[2], new double[3]));
        assertFalse(OutputDivergence.canReject(4));
        assertTrue(OutputDivergence.canReject(5));
    }

    @Test
    void beyondSixteenExamplesTheTestSamplesSignVectorsAndMatchesTheBinomialTail() {
        // 40 differences of magnitude 1, 28 of them in the candidate's favour: the sign-flip sum is 2B - 40 with B
        // binomial(40, 1/2), so p = P(B >= 28).
        double[] candidate = new double[40];
        double[] incumbent = new double[40];
        for (int e = 0; e < 40; e++) {
            incumbent[e] = 5;
            candidate[e] = e < 28 ? 4 : 6;
        }
        double exact = 1 - new org.apache.commons.math3.distribution.BinomialDistribution(40, 0.5)
                .cumulativeProbability(27);
        double p = OutputDivergence.pCloser(candidate, incumbent);
        assertTrue(exact > 0.005 && exact < 0.01, "P(B >= 28) = " + exact);
        assertEquals(exact, p, 0.0015, "100,000 draws: a standard error near 0.0003");
        assertTrue(OutputDivergence.significantlyCloser(candidate, incumbent));
        assertEquals(p, OutputDivergence.pCloser(candidate, incumbent), 0, "seeded: the same p every time");
        assertTrue(OutputDivergence.pCloser(incumbent, candidate) > 0.99);
    }

    private static ModelGraph graphOf(ModelGraph fp32, QuantizedModel q) {
        return new ModelGraph(q.graph(), fp32.inputs(), fp32.outputs(), fp32.layerOutputs());
    }
}
