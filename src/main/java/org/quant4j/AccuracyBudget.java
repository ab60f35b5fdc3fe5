package org.quant4j;

import java.util.Objects;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * The accuracy a quantization may cost, for {@link Quantizer#quantizeWithinBudget}: the network is quantized, scored
 * on validation data, and, while the score is more than {@code maxDrop} below fp32's, its most sensitive layers are
 * kept in fp32 one at a time (NNCF's accuracy control; ONNX Runtime's {@code nodes_to_exclude} found automatically).
 *
 * @param maxDrop        the largest drop from the fp32 score allowed, in the metric's units (top-1 points for
 *                       {@link ValidationMetric#top1}); at least 0
 * @param metric         scores a model on the validation data; use data the calibration did not see, and report
 *                       accuracy on a third set the search never read
 * @param maxEvaluations the most validation passes the search may spend, fp32's and the first quantization's
 *                       included (so at least 2); each further pass keeps one more layer in fp32
 */
public record AccuracyBudget(double maxDrop, ValidationMetric metric, int maxEvaluations) {

    /** Validation passes allowed by default: fp32, the full quantization, and up to 14 layers kept in fp32. */
    public static final int DEFAULT_MAX_EVALUATIONS = 16;

    public AccuracyBudget {
        if (!(maxDrop >= 0) || Double.isInfinite(maxDrop)) {
            throw new IllegalArgumentException("maxDrop must be a finite number at least 0, got " + maxDrop);
        }
        Objects.requireNonNull(metric, "metric");
        if (maxEvaluations < 2) {
            throw new IllegalArgumentException("maxEvaluations must be at least 2 (fp32 and the quantized model), got "
                    + maxEvaluations);
        }
    }

    /** At most {@code points} of top-1 lost on {@code validation}, {@link #DEFAULT_MAX_EVALUATIONS} passes. */
    public static AccuracyBudget maxTop1Drop(double points, DataSetIterator validation) {
        return new AccuracyBudget(points, ValidationMetric.top1(validation), DEFAULT_MAX_EVALUATIONS);
    }

    /** These settings with at most {@code evaluations} validation passes. */
    public AccuracyBudget withMaxEvaluations(int evaluations) {
        return new AccuracyBudget(maxDrop, metric, evaluations);
    }
}
