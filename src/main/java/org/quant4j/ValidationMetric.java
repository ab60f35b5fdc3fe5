package org.quant4j;

import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * How {@link Quantizer#quantizeWithinBudget} scores a model on the user's validation data: higher is better, in
 * whatever units the budget's drop is given in. {@link #top1} is the classifier's; a regression or detection model
 * supplies its own (say, minus the mean squared error, or mAP).
 */
@FunctionalInterface
public interface ValidationMetric {

    /** The score of {@code model} (a batch of features in, the network's first output out). */
    double score(Function<INDArray, INDArray> model);

    /**
     * Top-1 accuracy in points (0 to 100) over every batch of {@code validation}: the arg-max of the output against
     * the arg-max of the one-hot labels. The iterator is reset before each pass.
     */
    static ValidationMetric top1(DataSetIterator validation) {
        return model -> {
            long correct = 0;
            long total = 0;
            validation.reset();
            while (validation.hasNext()) {
                DataSet batch = validation.next();
                INDArray predicted = model.apply(batch.getFeatures()).argMax(1);
                INDArray expected = batch.getLabels().argMax(1);
                correct += predicted.eq(expected).castTo(org.nd4j.linalg.api.buffer.DataType.INT64).sumNumber()
                        .longValue();
                total += expected.length();
            }
            if (total == 0) {
                throw new QuantizationException("the validation data holds no examples");
            }
            return 100.0 * correct / total;
        };
    }
}
