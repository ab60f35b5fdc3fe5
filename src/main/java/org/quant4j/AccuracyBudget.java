package org.quant4j;

import java.util.Objects;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.stat.descriptive.SummaryStatistics;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * The accuracy a quantization may cost, for {@link Quantizer#quantizeWithinBudget}: the network is quantized, scored
 * on validation data, and, while the score may be more than {@code maxDrop} below fp32's (at the given
 * {@link #confidence}), its most sensitive layers are kept in fp32 one at a time (NNCF's accuracy control; ONNX Runtime's {@code nodes_to_exclude} found automatically).
 *
 * @param maxDrop        the largest drop from the fp32 score allowed, in the metric's units (top-1 points for
 *                       {@link ValidationMetric#top1}); at least 0
 * @param metric         scores a model on the validation data; use data the calibration did not see, and report
 *                       accuracy on a third set the search never read
 * @param maxEvaluations the most validation passes the search may spend, fp32's and the first quantization's
 *                       included (so at least 2); each further pass keeps one more layer in fp32
 * @param confidence     how sure the search must be that the drop is within the budget, 0.5 to below 1: a model is
 *                       accepted when the upper confidence bound of its drop, {@code d + z * sd(d_i) / sqrt(n)}, is
 *                       at most {@code maxDrop}, where {@code d_i} is fp32's score minus the model's on validation
 *                       example {@code i} (paired), {@code d} their mean, {@code n} the examples and {@code z} the
 *                       standard normal quantile of {@code confidence} (one-sided). At 0.5, {@code z = 0}: the measured
 *                       drop alone. A metric without {@link ValidationMetric#exampleScores} has no interval; its
 *                       measured drop is used at any confidence
 */
public record AccuracyBudget(double maxDrop, ValidationMetric metric, int maxEvaluations, double confidence) {

    /** Validation passes allowed by default: fp32, the full quantization, and up to 14 layers kept in fp32. */
    public static final int DEFAULT_MAX_EVALUATIONS = 16;

    /**
     * The confidence by default: 0.9 ({@code z = 1.28}). On 2,000 validation images a 4-bit model whose top-1 differs
     * from fp32's on 5 % of them has a standard error of about 0.5 points on its drop, as large as the budgets users
     * set; without a margin the drop on unseen data exceeded the budget (docs/ACCURACY.md, the accuracy budget).
     */
    public static final double DEFAULT_CONFIDENCE = 0.9;

    public AccuracyBudget {
        if (!(maxDrop >= 0) || Double.isInfinite(maxDrop)) {
            throw new IllegalArgumentException("maxDrop must be a finite number at least 0, got " + maxDrop);
        }
        Objects.requireNonNull(metric, "metric");
        if (maxEvaluations < 2) {
            throw new IllegalArgumentException("maxEvaluations must be at least 2 (fp32 and the quantized model), got "
                    + maxEvaluations);
        }
        if (!(confidence >= 0.5 && confidence < 1)) {
            throw new IllegalArgumentException("confidence must be at least 0.5 and below 1, got " + confidence);
        }
    }

    /**
     * At most {@code points} of top-1 lost on {@code validation}, {@link #DEFAULT_MAX_EVALUATIONS} passes,
     * {@link #DEFAULT_CONFIDENCE}.
     */
    public static AccuracyBudget maxTop1Drop(double points, DataSetIterator validation) {
        return new AccuracyBudget(points, ValidationMetric.top1(validation), DEFAULT_MAX_EVALUATIONS,
                DEFAULT_CONFIDENCE);
    }

    /** These settings with at most {@code evaluations} validation passes. */
    public AccuracyBudget withMaxEvaluations(int evaluations) {
        return new AccuracyBudget(maxDrop, metric, evaluations, confidence);
    }

    /** These settings with another {@link #confidence} (0.5: the measured drop, no margin). */
    public AccuracyBudget withConfidence(double confidence) {
        return new AccuracyBudget(maxDrop, metric, maxEvaluations, confidence);
    }

    /**
     * The upper confidence bound of the drop from {@code fp32} to {@code model}, paired example by example (see
     * {@link #confidence}); {@code drop} itself where either is null.
     */
    double dropBound(double drop, double[] fp32, double[] model) {
        if (fp32 == null || model == null || fp32.length < 2) {
            return drop;
        }
        if (model.length != fp32.length) {
            throw new QuantizationException("the validation metric scored " + fp32.length + " examples for fp32 and "
                    + model.length + " for the quantized model: its exampleScores must score the same examples");
        }
        SummaryStatistics d = new SummaryStatistics();
        for (int i = 0; i < fp32.length; i++) {
            d.addValue(fp32[i] - model[i]);
        }
        double z = new NormalDistribution(null, 0, 1).inverseCumulativeProbability(confidence);
        return d.getMean() + z * d.getStandardDeviation() / Math.sqrt(d.getN());
    }
}
