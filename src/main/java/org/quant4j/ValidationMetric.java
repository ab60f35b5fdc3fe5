package org.quant4j;

import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * How {@link Quantizer#quantizeWithinBudget} scores a model on the user's validation data: higher is better, in
 * whatever units the budget's drop is given in. {@link #top1} is the classifier's; a regression or detection model
 * supplies its own (say, minus the mean squared error, or mAP).
 *
 * <p>A metric that is a mean over examples can also give the examples' scores ({@link #exampleScores}); the search
 * then bounds the drop it accepts by its confidence interval ({@link AccuracyBudget#confidence}), so that the drop on
 * data it never saw stays within the budget, not only the drop on the validation examples.
 */
@FunctionalInterface
public interface ValidationMetric {

    /** The score of {@code model} (a batch of features in, the network's first output out). */
    double score(Function<INDArray, INDArray> model);

    /**
     * Each validation example's score, in a fixed order, whose mean is {@link #score}; or null (the default) when the
     * score is not a mean over examples. Two models' arrays are compared example by example.
     */
    default double[] exampleScores(Function<INDArray, INDArray> model) {
        return null;
    }

    /**
     * The score of a model of the accuracy-budget search; by default {@link #score(Function)} of its output. A metric
     * that scores on a cluster overrides this and {@link #exampleScores(BudgetCandidate)} to send the candidate's
     * model to its workers ({@link BudgetCandidate#quantizedModel()}).
     */
    default double score(BudgetCandidate candidate) {
        return score(candidate::output);
    }

    /**
     * As {@link #exampleScores(Function)}, for a model of the accuracy-budget search (see
     * {@link #score(BudgetCandidate)}).
     */
    default double[] exampleScores(BudgetCandidate candidate) {
        return exampleScores(candidate::output);
    }

    /**
     * Top-1 accuracy in points (0 to 100) over every batch of {@code validation}: the arg-max of the output against
     * the arg-max of the one-hot labels; each example scores 100 or 0. The iterator is reset before each pass.
     */
    static ValidationMetric top1(DataSetIterator validation) {
        return new ValidationMetric() {
            @Override
            public double score(Function<INDArray, INDArray> model) {
                double sum = 0;
                double[] scores = exampleScores(model);
                for (double s : scores) {
                    sum += s;
                }
                return sum / scores.length;
            }

            @Override
            public double[] exampleScores(Function<INDArray, INDArray> model) {
                java.util.List<int[]> hits = new java.util.ArrayList<>();
                int total = 0;
                validation.reset();
                while (validation.hasNext()) {
                    DataSet batch = validation.next();
                    INDArray predicted = model.apply(batch.getFeatures()).argMax(1);
                    INDArray expected = batch.getLabels().argMax(1);
                    int[] hit = predicted.eq(expected).castTo(DataType.INT32).toIntVector();
                    hits.add(hit);
                    total += hit.length;
                }
                if (total == 0) {
                    throw new QuantizationException("the validation data holds no examples");
                }
                double[] scores = new double[total];
                int i = 0;
                for (int[] hit : hits) {
                    for (int h : hit) {
                        scores[i++] = 100.0 * h;
                    }
                }
                return scores;
            }
        };
    }
}
