package org.quant4j.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.quant4j.BudgetCandidate;
import org.quant4j.QuantizationException;
import org.quant4j.ValidationMetric;

/**
 * Top-1 accuracy over an RDD of labelled DataSets for the accuracy-budget search
 * ({@code Quantizer.quantizeWithinBudget}), with the validation passes on the cluster: each quantized candidate's
 * {@code .q4j} bytes are broadcast once ({@link SparkScorer#quantized}) and the fp32 reference is the user's DL4J
 * network ({@link SparkScorer#fp32}; the search's converted graph equals it within 1e-5). Every example scores 100 or
 * 0 (its output's arg-max against its one-hot label's) and only these scores return to the driver, in the RDD's
 * order, so the search pairs two models example by example as it does on one machine; the RDD must give the same
 * elements in the same order on every pass (cache it).
 *
 * <p>A plain function of features (not a candidate of the search) cannot be sent to the executors: it is scored on
 * the driver over the RDD's elements ({@code toLocalIterator}).
 */
public final class DistributedValidation implements ValidationMetric {

    private final JavaSparkContext sc;
    private final Model fp32;
    private final JavaRDD<DataSet> validation;
    private final int batchSize;

    private DistributedValidation(JavaSparkContext sc, Model fp32, JavaRDD<DataSet> validation, int batchSize) {
        this.sc = Objects.requireNonNull(sc, "sc");
        this.fp32 = Objects.requireNonNull(fp32, "fp32");
        this.validation = Objects.requireNonNull(validation, "validation");
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        this.batchSize = batchSize;
    }

    /**
     * Top-1 accuracy in points on {@code validation} (cached by the caller), the fp32 reference scored with
     * {@code fp32Network}, the network being quantized.
     */
    public static DistributedValidation top1(JavaSparkContext sc, Model fp32Network, JavaRDD<DataSet> validation,
            int batchSize) {
        return new DistributedValidation(sc, fp32Network, validation, batchSize);
    }

    @Override
    public double score(BudgetCandidate candidate) {
        return mean(exampleScores(candidate));
    }

    @Override
    public double[] exampleScores(BudgetCandidate candidate) {
        try (SparkScorer scorer = candidate.quantizedModel()
                .map(model -> SparkScorer.quantized(sc, model, batchSize))
                .orElseGet(() -> SparkScorer.fp32(sc, fp32, batchSize))) {
            List<double[]> parts = validation.mapPartitions((Iterator<DataSet> it) -> {
                List<double[]> hits = new ArrayList<>();
                while (it.hasNext()) {
                    DataSet batch = it.next();
                    hits.add(hits(scorer.output(batch.getFeatures()), batch.getLabels()));
                }
                return hits.iterator();
            }).collect();
            return concatenate(parts);
        }
    }

    @Override
    public double score(Function<INDArray, INDArray> model) {
        return mean(exampleScores(model));
    }

    @Override
    public double[] exampleScores(Function<INDArray, INDArray> model) {
        List<double[]> parts = new ArrayList<>();
        Iterator<DataSet> it = validation.toLocalIterator();
        while (it.hasNext()) {
            DataSet batch = it.next();
            parts.add(hits(model.apply(batch.getFeatures()), batch.getLabels()));
        }
        return concatenate(parts);
    }

    /** 100 where the output's arg-max is the label's, else 0, one per row. */
    static double[] hits(INDArray output, INDArray labels) {
        if (output.size(0) != labels.size(0)) {
            throw new QuantizationException("the model gave " + output.size(0) + " rows of output for "
                    + labels.size(0) + " labelled examples (labels " + Arrays.toString(labels.shape()) + ")");
        }
        int[] hit = output.argMax(1).eq(labels.argMax(1)).castTo(DataType.INT32).toIntVector();
        double[] scores = new double[hit.length];
        for (int i = 0; i < hit.length; i++) {
            scores[i] = 100.0 * hit[i];
        }
        return scores;
    }

    private static double[] concatenate(List<double[]> parts) {
        double[] all = parts.stream().flatMapToDouble(Arrays::stream).toArray();
        if (all.length == 0) {
            throw new QuantizationException("the validation RDD holds no examples");
        }
        return all;
    }

    private static double mean(double[] scores) {
        return Arrays.stream(scores).average().orElseThrow();
    }
}
