package org.quant4j;

import java.util.List;

/**
 * The accuracy budget could not be met within its evaluations. The message and the accessors give the closest the
 * search came: its drop, the layers it had kept in fp32 for it and the evaluations spent; quantizing with those layers
 * in {@code keepFp32} makes that model again.
 */
public final class AccuracyBudgetException extends QuantizationException {

    private final double bestDrop;
    private final double bestDropBound;
    private final List<String> keptFp32;
    private final int evaluations;

    AccuracyBudgetException(String message, double bestDrop, double bestDropBound, List<String> keptFp32,
            int evaluations) {
        super(message);
        this.bestDrop = bestDrop;
        this.bestDropBound = bestDropBound;
        this.keptFp32 = List.copyOf(keptFp32);
        this.evaluations = evaluations;
    }

    /** The smallest drop from fp32 the search measured. */
    public double bestDrop() {
        return bestDrop;
    }

    /** The upper confidence bound of that model's drop ({@link AccuracyBudget#confidence}). */
    public double bestDropBound() {
        return bestDropBound;
    }

    /** The layers kept in fp32 (beyond the options' own) in the model with the smallest drop. */
    public List<String> keptFp32() {
        return keptFp32;
    }

    /** Validation passes spent, fp32's included. */
    public int evaluations() {
        return evaluations;
    }
}
