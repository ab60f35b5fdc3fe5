package org.quant4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.quantize.SensitivityRanking;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The search behind {@link Quantizer#quantizeWithinBudget}, from one calibration:
 * <ol>
 *   <li>score fp32 (the converted graph, equal to the network within 1e-5) and the fully quantized model on the
 *       validation metric; within the budget, done (two evaluations). "Within" means the drop's upper confidence
 *       bound ({@link AccuracyBudget#confidence}) is at most the budget;</li>
 *   <li>rank the quantized ops by sensitivity ({@link SensitivityRanking}: each left alone in fp32, its output
 *       divergence from fp32 on the calibration's held batches; no validation pass);</li>
 *   <li>keep the ranked ops in fp32 one more at a time, scoring each model, until the drop is within the budget or
 *       the evaluations are spent; then the model with the best score is named in an
 *       {@link AccuracyBudgetException}.</li>
 * </ol>
 * Scores are of {@code QuantizedModel.output}: the int8 plan where the machine has one.
 */
final class AccuracyControl {

    private static final Logger LOG = LoggerFactory.getLogger(AccuracyControl.class);

    private AccuracyControl() {
    }

    static BudgetedModel search(Calibration calibration, QuantizationOptions options, AccuracyBudget budget) {
        ModelGraph fp32 = calibration.fp32Graph();
        Scored reference = Scored.of(budget.metric(), BudgetCandidate.fp32(fp32Function(fp32)));
        int evaluations = 1;
        QuantizedModel model = calibration.quantize(options);
        Scored full = Scored.of(budget.metric(), BudgetCandidate.quantized(model));
        evaluations++;
        double bound = full.dropBound(reference, budget);
        LOG.info(String.format(Locale.ROOT, "accuracy budget %.4g: fp32 %.4f, quantized %.4f (drop %.4f, bound %.4f)",
                budget.maxDrop(), reference.score(), full.score(), reference.score() - full.score(), bound));
        if (bound <= budget.maxDrop()) {
            return new BudgetedModel(model, reference.score(), full.score(), bound, List.of(), evaluations, 0);
        }
        List<String> candidates = model.report().quantizedOps();
        List<SensitivityRanking.Ranked> ranked = SensitivityRanking.rank(calibration.observed(), options, candidates);
        LOG.info("accuracy budget: layers by sensitivity {}", ranked);
        List<String> kept = new ArrayList<>();
        Scored best = full;
        double bestBound = bound;
        List<String> bestKept = List.of();
        for (SensitivityRanking.Ranked r : ranked) {
            if (evaluations >= budget.maxEvaluations()) {
                break;
            }
            kept.add(r.op());
            Set<String> keep = new LinkedHashSet<>(options.keepFp32());
            keep.addAll(kept);
            QuantizedModel candidate = calibration.quantize(options.withKeepFp32(keep));
            Scored s = Scored.of(budget.metric(), BudgetCandidate.quantized(candidate));
            evaluations++;
            double b = s.dropBound(reference, budget);
            LOG.info(String.format(Locale.ROOT, "accuracy budget: %d layer(s) in fp32 %s: %.4f (drop %.4f, bound %.4f)",
                    kept.size(), kept, s.score(), reference.score() - s.score(), b));
            if (b <= budget.maxDrop()) {
                return new BudgetedModel(candidate, reference.score(), s.score(), b, kept, evaluations,
                        ranked.size());
            }
            if (s.score() > best.score()) {
                best = s;
                bestBound = b;
                bestKept = List.copyOf(kept);
            }
            System.gc(); // the rejected model's native buffers (see SensitivityRanking)
        }
        String why = kept.size() == ranked.size() ? "every quantized layer was tried in fp32"
                : "the evaluations were spent (AccuracyBudget.maxEvaluations " + budget.maxEvaluations() + ")";
        double bestDrop = reference.score() - best.score();
        throw new AccuracyBudgetException(String.format(Locale.ROOT,
                "accuracy budget of %.4g not met: fp32 scores %.4f, the best quantized model %.4f (drop %.4f, "
                        + "upper bound %.4f at confidence %.3g) with %d layer(s) in fp32 %s, after %d validation "
                        + "passes and %d ranking quantizations; %s. Allow a larger drop, more evaluations, more "
                        + "validation data (a tighter bound), or more bits.",
                budget.maxDrop(), reference.score(), best.score(), bestDrop, bestBound, budget.confidence(),
                bestKept.size(), bestKept, evaluations, ranked.size(), why), bestDrop, bestBound, bestKept, evaluations);
    }

    /** A model's validation score and, where the metric gives them, its examples' scores. */
    private record Scored(double score, double[] examples) {

        static Scored of(ValidationMetric metric, BudgetCandidate model) {
            double[] examples = metric.exampleScores(model);
            if (examples == null) {
                return new Scored(metric.score(model), null);
            }
            if (examples.length == 0) {
                throw new QuantizationException("the validation metric scored no examples");
            }
            return new Scored(Arrays.stream(examples).average().orElseThrow(), examples);
        }

        double dropBound(Scored fp32, AccuracyBudget budget) {
            return budget.dropBound(fp32.score() - score, fp32.examples(), examples);
        }
    }

    /** The converted fp32 graph as a function of the first input to the first output. */
    private static Function<INDArray, INDArray> fp32Function(ModelGraph fp32) {
        String output = fp32.outputs().get(0);
        return x -> {
            Map<String, INDArray> out = GraphExecution.output(fp32.graph(),
                    InputFeed.of(fp32.inputs(), new INDArray[] {x}, "validation features"), List.of(output));
            return out.get(output);
        };
    }
}
