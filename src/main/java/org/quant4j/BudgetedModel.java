package org.quant4j;

import java.util.List;

/**
 * What {@link Quantizer#quantizeWithinBudget} found: the model, its validation score and fp32's, the layers it kept
 * in fp32 (beyond the options' own {@code keepFp32}) in the order it kept them, and what the search cost.
 *
 * @param model                the quantized model
 * @param fp32Score            the fp32 network's validation score
 * @param score                the model's validation score (its int8 plan where it has one, as {@code output} runs)
 * @param dropBound            the upper confidence bound of the drop the search accepted ({@link
 *                             AccuracyBudget#confidence}); the measured drop where the metric gives no examples' scores
 * @param keptFp32             the layers (quantized ops, by output name) the search left in fp32, most sensitive
 *                             first
 * @param evaluations          validation passes spent, fp32's included
 * @param rankingQuantizations quantizations made to rank the layers (each scored on the calibration's held batches,
 *                             not on the validation data)
 */
public record BudgetedModel(QuantizedModel model, double fp32Score, double score, double dropBound,
        List<String> keptFp32,
        int evaluations, int rankingQuantizations) {

    public BudgetedModel {
        keptFp32 = List.copyOf(keptFp32);
    }

    /** The score lost to quantization: {@code fp32Score - score}. */
    public double drop() {
        return fp32Score - score;
    }
}
