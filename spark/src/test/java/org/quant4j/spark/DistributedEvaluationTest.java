package org.quant4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.junit.jupiter.api.Test;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.quant4j.QuantizedModel;
import org.quant4j.data.LabeledImages;

/** fp32 against int8 on an RDD of DataSets: the merged figures are one machine's, exactly. */
class DistributedEvaluationTest {

    @Test
    void mergedEvaluationsEqualOneMachine() {
        LabeledImages images = LocalSpark.testImages();
        List<DataSet> sets = LocalSpark.dataSets(images, 100);
        QuantizedModel model = LocalSpark.quantized();

        EvaluationComparison distributed = DistributedEvaluation.compare(LocalSpark.context(), LocalSpark.mlp(), model,
                LocalSpark.context().parallelize(sets, 5));

        // One machine, through DL4J's and quant4j's own evaluation loops.
        Evaluation fp32 = LocalSpark.mlp().evaluate(new ListDataSetIterator<>(sets, 1));
        Evaluation int8 = model.evaluate(new ListDataSetIterator<>(sets, 1));
        INDArray fp32Classes = LocalSpark.mlp().output(images.features(), false).argMax(1);
        INDArray int8Classes = model.output(images.features()).argMax(1);
        long agreements = fp32Classes.eq(int8Classes).castTo(DataType.INT).sumNumber().longValue();

        assertEquals(images.size(), distributed.examples());
        assertEquals(fp32.getConfusionMatrix().toCSV(), distributed.fp32().getConfusionMatrix().toCSV());
        assertEquals(int8.getConfusionMatrix().toCSV(), distributed.quantized().getConfusionMatrix().toCSV());
        assertEquals(fp32.accuracy(), distributed.fp32().accuracy());
        assertEquals(int8.accuracy(), distributed.quantized().accuracy());
        assertEquals(agreements, distributed.agreements());
        // A trained MLP: the figures are those of a working network, not of an empty evaluation.
        assertTrue(distributed.fp32().accuracy() > 0.9, distributed.toString());
        assertTrue(distributed.agreement() > 0.95, distributed.toString());
    }
}
