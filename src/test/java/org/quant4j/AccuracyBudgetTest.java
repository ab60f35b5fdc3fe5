package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;

/**
 * The accuracy budget on a real network (an MLP trained here on MNIST) and real data: calibration, validation and
 * test images are three disjoint sets. The scores are checked against top-1 computed here from the models' outputs.
 */
class AccuracyBudgetTest {

    private static final Datasets DATA = Datasets.fromEnvironment();
    private static MultiLayerNetwork net;
    private static LabeledImages validation;

    @BeforeAll
    static void train() {
        net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7).weightInit(WeightInit.RELU)
                .updater(new Adam(2e-3)).list()
                .layer(new DenseLayer.Builder().name("fc1").nOut(96).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().name("fc2").nOut(48).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().name("fc3").nOut(32).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1)).build());
        net.init();
        net.fit(DATA.iterator(Dataset.MNIST, Split.TRAIN, Subset.first(6000), 100));
        validation = DATA.load(Dataset.MNIST, Split.TRAIN, new Subset(Subset.Kind.RANDOM, 1000, 11L));
    }

    private static DataSetIterator calibration() {
        return DATA.iterator(Dataset.MNIST, Split.TEST, Subset.first(256), 64);
    }

    /** Top-1 in points of {@code model} on the validation images, computed here. */
    private static double top1(java.util.function.Function<INDArray, INDArray> model) {
        boolean[] hits = hits(model);
        long same = 0;
        for (boolean h : hits) {
            same += h ? 1 : 0;
        }
        return 100.0 * same / hits.length;
    }

    /** Whether {@code model} classifies each validation image correctly. */
    private static boolean[] hits(java.util.function.Function<INDArray, INDArray> model) {
        INDArray predicted = model.apply(validation.features()).argMax(1);
        INDArray expected = validation.labels().argMax(1);
        boolean[] hits = new boolean[(int) expected.length()];
        for (int i = 0; i < hits.length; i++) {
            hits[i] = predicted.getInt(i) == expected.getInt(i);
        }
        return hits;
    }

    /**
     * The drop's upper 90 % bound computed here from the two models' hits: mean of the paired differences plus
     * 1.2816 (the standard normal's 0.9 quantile) standard errors.
     */
    private static double upperBound90(boolean[] fp32, boolean[] model) {
        int n = fp32.length;
        double sum = 0;
        double sumSquares = 0;
        for (int i = 0; i < n; i++) {
            double d = 100.0 * ((fp32[i] ? 1 : 0) - (model[i] ? 1 : 0));
            sum += d;
            sumSquares += d * d;
        }
        double mean = sum / n;
        double variance = (sumSquares - n * mean * mean) / (n - 1);
        return mean + 1.2816 * Math.sqrt(variance / n);
    }

    private static QuantizationOptions bits(int bits) {
        return QuantizationOptions.builder().weightBits(bits).activationBits(bits).build();
    }

    @Test
    void aSmallDropNeedsNoSearch() {
        BudgetedModel r = Quantizer.quantizeWithinBudget(net, calibration(), QuantizationOptions.defaults(),
                AccuracyBudget.maxTop1Drop(1.0, validation.iterator(250)));
        assertEquals(List.of(), r.keptFp32());
        assertEquals(2, r.evaluations());
        assertEquals(0, r.rankingQuantizations());
        assertEquals(top1(x -> net.output(x, false)), r.fp32Score(), 1e-9);
        assertEquals(top1(r.model()::output), r.score(), 1e-9);
        assertEquals(upperBound90(hits(x -> net.output(x, false)), hits(r.model()::output)), r.dropBound(), 1e-3);
        assertTrue(r.dropBound() <= 1.0 && r.drop() <= r.dropBound(), "drop " + r.drop() + ", bound " + r.dropBound());
    }

    @Test
    void aMetricWithoutExampleScoresIsBoundByItsMeasuredDrop() {
        ValidationMetric plain = model -> top1(model);
        BudgetedModel r = Quantizer.quantizeWithinBudget(net, calibration(), QuantizationOptions.defaults(),
                new AccuracyBudget(1.0, plain, AccuracyBudget.DEFAULT_MAX_EVALUATIONS, 0.99));
        assertEquals(r.drop(), r.dropBound(), 0.0);
    }

    @Test
    void keepsTheMostSensitiveLayersInFp32UntilTheDropIsWithinBudget() {
        QuantizationOptions threeBits = bits(3);
        Calibration calibration = Quantizer.calibrate(net, calibration(), threeBits);
        double fp32 = top1(x -> net.output(x, false));
        double full = top1(calibration.quantize(threeBits)::output);
        assertTrue(fp32 - full > 1.0, "3-bit drop " + (fp32 - full) + " must exceed the budget for this test");

        BudgetedModel r = Quantizer.quantizeWithinBudget(calibration, threeBits,
                AccuracyBudget.maxTop1Drop(1.0, validation.iterator(250)));
        assertFalse(r.keptFp32().isEmpty());
        assertEquals(2 + r.keptFp32().size(), r.evaluations());
        assertEquals(4, r.rankingQuantizations(), "one ranking quantization per quantized layer");
        assertEquals(r.keptFp32().stream().sorted().toList(), r.model().report().keptFp32Ops().stream().sorted()
                .toList());
        double score = top1(r.model()::output);
        assertEquals(score, r.score(), 1e-9);
        boolean[] fp32Hits = hits(x -> net.output(x, false));
        double bound = upperBound90(fp32Hits, hits(r.model()::output));
        assertEquals(bound, r.dropBound(), 1e-3);
        assertTrue(fp32 - score <= bound && bound <= 1.0, "drop " + (fp32 - score) + ", bound " + bound + " with "
                + r.keptFp32());
        // The search stops at the first model within the budget: one layer fewer in fp32 is over it.
        Set<String> fewer = new LinkedHashSet<>(r.keptFp32().subList(0, r.keptFp32().size() - 1));
        double without = upperBound90(fp32Hits, hits(calibration.quantize(threeBits.withKeepFp32(fewer))::output));
        assertTrue(without > 1.0, "bound " + without + " already within the budget with " + fewer);
    }

    @Test
    void anImpossibleBudgetNamesTheBestDropReached() {
        AccuracyBudget budget = AccuracyBudget.maxTop1Drop(0.0, validation.iterator(250)).withMaxEvaluations(3);
        AccuracyBudgetException e = assertThrows(AccuracyBudgetException.class,
                () -> Quantizer.quantizeWithinBudget(net, calibration(), bits(2), budget));
        assertEquals(3, e.evaluations());
        assertTrue(e.keptFp32().size() <= 1, e.keptFp32().toString());
        assertTrue(e.bestDrop() > 0, e.getMessage());
        assertTrue(e.getMessage().contains("not met") && e.getMessage().contains(e.keptFp32().toString())
                && e.getMessage().contains("after 3 validation passes")
                && e.getMessage().contains("maxEvaluations 3"), e.getMessage());
    }

    @Test
    void budgetsAreCheckedWhenMade() {
        DataSetIterator v = validation.iterator(250);
        assertThrows(IllegalArgumentException.class, () -> AccuracyBudget.maxTop1Drop(-0.1, v));
        assertThrows(IllegalArgumentException.class, () -> AccuracyBudget.maxTop1Drop(Double.NaN, v));
        assertThrows(IllegalArgumentException.class, () -> AccuracyBudget.maxTop1Drop(1, v).withMaxEvaluations(1));
        assertThrows(IllegalArgumentException.class, () -> AccuracyBudget.maxTop1Drop(1, v).withConfidence(0.4));
        assertThrows(IllegalArgumentException.class, () -> AccuracyBudget.maxTop1Drop(1, v).withConfidence(1.0));
    }
}
