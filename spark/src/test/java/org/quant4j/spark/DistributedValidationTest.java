package org.quant4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.quant4j.AccuracyBudget;
import org.quant4j.BudgetCandidate;
import org.quant4j.BudgetedModel;
import org.quant4j.Calibration;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.ValidationMetric;
import org.quant4j.data.Dataset;

/** The accuracy-budget search with its validation passes on Spark finds what it finds on one machine. */
class DistributedValidationTest {

    @Test
    void examplesScoredOnTheClusterAreOneMachinesInOrder() {
        List<DataSet> sets = LocalSpark.dataSets(LocalSpark.testImages(), 100);
        JavaRDD<DataSet> rdd = LocalSpark.context().parallelize(sets, 4).cache();
        DistributedValidation cluster = DistributedValidation.top1(LocalSpark.context(), LocalSpark.mlp(), rdd, 64);
        ValidationMetric local = ValidationMetric.top1(new ListDataSetIterator<>(sets, 1));
        QuantizedModel model = LocalSpark.quantized();

        assertArrayEquals(local.exampleScores(model::output),
                cluster.exampleScores(BudgetCandidate.quantized(model)));
        // The fp32 reference is the DL4J network on the executors, the converted graph on one machine.
        assertArrayEquals(local.exampleScores(x -> LocalSpark.mlp().output(x, false)),
                cluster.exampleScores(BudgetCandidate.fp32(x -> LocalSpark.mlp().output(x, false))));
        // A plain function is scored on the driver, in the same order.
        assertArrayEquals(local.exampleScores(model::output), cluster.exampleScores(model::output));
        assertEquals(local.score(model::output), cluster.score(BudgetCandidate.quantized(model)), 1e-12);
    }

    @Test
    void budgetSearchOnTheClusterKeepsTheLayersOneMachineKeeps() {
        // 3-bit weights and activations: the MLP loses more than 0.2 points (bound 0.69), so the search keeps layers.
        QuantizationOptions options = QuantizationOptions.builder().calibrationBatches(1_000).reportBatches(2)
                .weightBits(3).activationBits(3).build();
        Calibration calibration = Quantizer.calibrate(LocalSpark.mlp(),
                LocalSpark.DATA.calibrationSet(Dataset.MNIST, 1024, 7).iterator(64), options);
        List<DataSet> sets = LocalSpark.dataSets(LocalSpark.testImages(), 100);
        JavaRDD<DataSet> rdd = LocalSpark.context().parallelize(sets, 4).cache();

        AccuracyBudget onCluster = new AccuracyBudget(0.2,
                DistributedValidation.top1(LocalSpark.context(), LocalSpark.mlp(), rdd, 64), 6, 0.9);
        AccuracyBudget onOneMachine = AccuracyBudget.maxTop1Drop(0.2, new ListDataSetIterator<>(sets, 1))
                .withMaxEvaluations(6);
        BudgetedModel cluster = Quantizer.quantizeWithinBudget(calibration, options, onCluster);
        BudgetedModel local = Quantizer.quantizeWithinBudget(calibration, options, onOneMachine);

        assertFalse(local.keptFp32().isEmpty(), "the search kept no layer: " + local);
        assertEquals(local.keptFp32(), cluster.keptFp32());
        assertEquals(local.evaluations(), cluster.evaluations());
        assertEquals(local.score(), cluster.score(), 1e-9);
        assertEquals(local.fp32Score(), cluster.fp32Score(), 1e-9);
        assertEquals(local.dropBound(), cluster.dropBound(), 1e-9);
        assertTrue(cluster.dropBound() <= 0.2, cluster.toString());
    }
}
