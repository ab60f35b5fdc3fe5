package org.quant4j.accuracy;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.SpecifiedIndex;
import org.quant4j.AccuracyBudget;
import org.quant4j.AccuracyBudgetException;
import org.quant4j.BudgetedModel;
import org.quant4j.Calibration;
import org.quant4j.QuantizationOptions;
import org.quant4j.Quantizer;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.reference.ReferenceNetwork;

/**
 * The accuracy budget measured on the reference networks ({@code quant4j accuracy --max-accuracy-drop P}): three
 * disjoint image sets per network: the study's calibration draw (training split), {@value #VALIDATION_IMAGES}
 * validation images the search scores on (training split, none of the calibration images), and the 10,000 test
 * images, never read by the search, on which the result's drop is reported.
 */
public final class BudgetStudy {

    /** Training images the search is validated on. */
    public static final int VALIDATION_IMAGES = 2000;
    /** Seed of the validation images' draw. */
    static final long VALIDATION_SEED = 1042;

    private BudgetStudy() {
    }

    /**
     * One network at one bit width.
     *
     * @param testDropBefore fp32 top-1 minus the fully quantized model's, test set, points
     * @param testDropAfter  fp32 top-1 minus the budgeted model's, test set, points (the best model's when not met)
     * @param validationDrop the drop the search measured on its validation images
     * @param validationBound its upper confidence bound, which the search held to the budget
     * @param keptFp32       layers the search kept in fp32
     */
    public record Result(String network, int weightBits, int activationBits, double budget, double fp32Test,
            double testDropBefore, double testDropAfter, double validationDrop, double validationBound,
            List<String> keptFp32,
            int evaluations, int rankingQuantizations, boolean met, double seconds) {
    }

    /** The validation images of {@code net}: from the training split, none of {@code calibration}'s. */
    static LabeledImages validation(ReferenceNetwork net, LabeledImages calibration, Datasets data) {
        LabeledImages drawn = data.load(net.dataset(), Split.TRAIN,
                Subset.random(VALIDATION_IMAGES + calibration.size(), VALIDATION_SEED));
        Set<Integer> used = Arrays.stream(calibration.indices()).boxed().collect(Collectors.toSet());
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < drawn.size() && rows.size() < VALIDATION_IMAGES; i++) {
            if (!used.contains(drawn.indices()[i])) {
                rows.add(i);
            }
        }
        long[] r = rows.stream().mapToLong(Integer::longValue).toArray();
        int[] indices = rows.stream().mapToInt(i -> drawn.indices()[i]).toArray();
        return new LabeledImages(drawn.dataset(), Split.TRAIN, drawn.subset(), indices,
                drawn.features().get(new SpecifiedIndex(r)).dup(), drawn.labels().get(new SpecifiedIndex(r)).dup());
    }

    public static Result run(ReferenceNetwork net, AccuracyStudy.Settings settings, int weightBits,
            int activationBits, double budget, Datasets data, PrintStream log) throws IOException {
        long start = System.nanoTime();
        Model model = ReferenceTraining.load(net, settings.models());
        AccuracyStudy.StudyData d = AccuracyStudy.data(net, settings, data);
        LabeledImages validation = validation(net, d.calibration(), data);
        QuantizationOptions options = QuantizationOptions.builder().weightBits(weightBits)
                .activationBits(activationBits).build();
        Calibration calibration = model instanceof MultiLayerNetwork m
                ? Quantizer.calibrate(m, d.calibration().iterator(128), options)
                : Quantizer.calibrate((ComputationGraph) model, d.calibration().iterator(128), options);
        int[] labels = AccuracyStudy.argmax(d.test().labels());
        double fp32 = top1(d.test(), labels, settings, f -> ReferenceTraining.fp32Output(model, f));
        double before = fp32 - top1(d.test(), labels, settings, calibration.quantize(options)::output);
        AccuracyBudget b = AccuracyBudget.maxTop1Drop(budget, validation.iterator(settings.batchSize()));
        Result r;
        try {
            BudgetedModel found = Quantizer.quantizeWithinBudget(calibration, options, b);
            double after = fp32 - top1(d.test(), labels, settings, found.model()::output);
            r = new Result(net.id(), weightBits, activationBits, budget, fp32, before, after, found.drop(), found.dropBound(),
                    found.keptFp32(), found.evaluations(), found.rankingQuantizations(), true,
                    (System.nanoTime() - start) / 1e9);
        } catch (AccuracyBudgetException e) {
            log.println(net.id() + ": " + e.getMessage());
            QuantizationOptions best = options.withKeepFp32(new java.util.LinkedHashSet<>(e.keptFp32()));
            double after = fp32 - top1(d.test(), labels, settings, calibration.quantize(best)::output);
            r = new Result(net.id(), weightBits, activationBits, budget, fp32, before, after, e.bestDrop(), e.bestDropBound(),
                    e.keptFp32(), e.evaluations(), -1, false, (System.nanoTime() - start) / 1e9);
        }
        log.println(row(r));
        return r;
    }

    private static double top1(LabeledImages test, int[] labels, AccuracyStudy.Settings settings,
            java.util.function.Function<INDArray, INDArray> model) {
        return 100 * AccuracyStudy.accuracy(AccuracyStudy.predict(test, settings.batchSize(), model), labels);
    }

    /** The markdown table's header. */
    public static String header() {
        return "| network | bits | fp32 top-1 | drop, all quantized | budget | drop, budgeted (test) | drop (validation)"
                + " | 90 % bound (validation) | layers kept in fp32 | validation passes | ranking quantizations | time |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n";
    }

    /** One result as a row of {@link #header()}'s table. */
    public static String row(Result r) {
        return String.format(Locale.ROOT, "| %s | W%dA%d | %.2f | %.2f | %.2f | %.2f%s | %.2f | %.2f | %s | %d | %s | %.0f s |",
                r.network(), r.weightBits(), r.activationBits(), r.fp32Test(), r.testDropBefore(), r.budget(),
                r.testDropAfter(), r.met() ? "" : " (not met)", r.validationDrop(), r.validationBound(),
                r.keptFp32().isEmpty() ? "-" : String.join(", ", r.keptFp32()), r.evaluations(),
                r.rankingQuantizations() < 0 ? "-" : String.valueOf(r.rankingQuantizations()), r.seconds());
    }
}
