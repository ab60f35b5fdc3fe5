package org.quant4j.spark;

import java.io.Serializable;
import org.nd4j.evaluation.classification.Evaluation;

/**
 * The fp32 network and its quantized model evaluated on the same labelled examples: DL4J's {@link Evaluation} of
 * each, and on how many examples their predicted classes (the arg-max of the first output) agree. Merging two
 * comparisons of disjoint data ({@link #merge}) adds their confusion matrices and counts: exact, in any order.
 *
 * @param fp32       the evaluation of the fp32 network
 * @param quantized  the evaluation of the quantized model
 * @param agreements examples on which both predict the same class
 * @param examples   examples evaluated
 */
public record EvaluationComparison(Evaluation fp32, Evaluation quantized, long agreements, long examples)
        implements Serializable {

    /** Nothing evaluated yet (the zero of merging). */
    public static EvaluationComparison empty() {
        return new EvaluationComparison(new Evaluation(), new Evaluation(), 0, 0);
    }

    /** Both comparisons together; neither is changed. */
    public EvaluationComparison merge(EvaluationComparison other) {
        Evaluation f = new Evaluation();
        f.merge(fp32);
        f.merge(other.fp32);
        Evaluation q = new Evaluation();
        q.merge(quantized);
        q.merge(other.quantized);
        return new EvaluationComparison(f, q, agreements + other.agreements, examples + other.examples);
    }

    /** The share of examples on which the two predict the same class; NaN when none was evaluated. */
    public double agreement() {
        return examples == 0 ? Double.NaN : (double) agreements / examples;
    }

    /** Accuracy of the quantized model minus that of the fp32 network (negative: the quantized model lost). */
    public double accuracyChange() {
        return quantized.accuracy() - fp32.accuracy();
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "fp32 accuracy %.4f, quantized %.4f, agreement %.4f over %d examples",
                fp32.accuracy(), quantized.accuracy(), agreement(), examples);
    }
}
