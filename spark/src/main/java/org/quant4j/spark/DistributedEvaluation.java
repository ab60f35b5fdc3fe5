package org.quant4j.spark;

import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.quant4j.QuantizedModel;

/**
 * fp32 against quantized accuracy, and their agreement, over an RDD of labelled DataSets: each partition evaluates
 * its DataSets (one batch each) with both models, taken from the executor's caches ({@link ExecutorModels}: the DL4J
 * network's {@code ModelSerializer} bytes and the {@code .q4j} bytes broadcast once), and the partitions'
 * {@link EvaluationComparison}s are merged with {@code treeAggregate}: confusion matrices and counts add up exactly,
 * so the result is the one of one machine evaluating the same DataSets.
 */
public final class DistributedEvaluation {

    private DistributedEvaluation() {
    }

    /** Compares {@code fp32} and {@code quantized} (made from it) on {@code data}. */
    public static EvaluationComparison compare(JavaSparkContext sc, Model fp32, QuantizedModel quantized,
            JavaRDD<DataSet> data) {
        try (SparkScorer fp = SparkScorer.fp32(sc, fp32, 1); SparkScorer q = SparkScorer.quantized(sc, quantized, 1)) {
            return compare(fp, q, data);
        }
    }

    /** As {@link #compare(JavaSparkContext, Model, QuantizedModel, JavaRDD)}, with models already broadcast. */
    public static EvaluationComparison compare(SparkScorer fp32, SparkScorer quantized, JavaRDD<DataSet> data) {
        return data.mapPartitions((Iterator<DataSet> it) -> {
            EvaluationComparison part = EvaluationComparison.empty();
            while (it.hasNext()) {
                part = part.merge(evaluate(fp32, quantized, it.next()));
            }
            return List.of(part).iterator();
        }).treeAggregate(EvaluationComparison.empty(), EvaluationComparison::merge, EvaluationComparison::merge);
    }

    /** One DataSet evaluated by both models. */
    static EvaluationComparison evaluate(SparkScorer fp32, SparkScorer quantized, DataSet batch) {
        INDArray labels = batch.getLabels();
        INDArray f = fp32.output(batch.getFeatures());
        INDArray q = quantized.output(batch.getFeatures());
        Evaluation ef = new Evaluation();
        ef.eval(labels, f);
        Evaluation eq = new Evaluation();
        eq.eval(labels, q);
        long n = labels.size(0);
        long agree = f.argMax(1).eq(q.argMax(1)).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
        return new EvaluationComparison(ef, eq, agree, n);
    }
}
