package org.quant4j.range;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.quant4j.range.pdf.PdfFamily;
import org.quant4j.range.pdf.PdfFitter;

/**
 * The range methods by name, for the builder and the command line.
 *
 * <p>Names: "minmax", "percentile-99.99", "percentile-99.999", "entropy", "mse", "aciq", "patent"; any
 * "percentile-P" with P in (0, 100] is also accepted. "patent-lg" is the patent method with two candidate PDFs,
 * Laplace and Gaussian, instead of the eight of claim 10 (the accuracy study compares the candidate sets at 4 bits).
 * "patent" chooses, among the fitted members of the families, the one whose corrected range gives the observed
 * values the least quantization error; "patent-ml" the member of largest likelihood (the method as it was before,
 * kept for measurement). "patent-folded" (likelihood, too) models every one-sided channel by the folded half of a
 * centred PDF only, without the rectified members of {@link PdfFitter}.
 */
public final class RangeMethods {

    private static final Map<String, Supplier<RangeSolver>> SOLVERS = new LinkedHashMap<>();

    static {
        SOLVERS.put("minmax", MinMaxSolver::new);
        SOLVERS.put("percentile-99.99", () -> new PercentileSolver(99.99));
        SOLVERS.put("percentile-99.999", () -> new PercentileSolver(99.999));
        SOLVERS.put("entropy", EntropySolver::new);
        SOLVERS.put("mse", MseSolver::new);
        SOLVERS.put("aciq", AciqSolver::new);
        SOLVERS.put("patent", PatentRangeSolver::new);
        SOLVERS.put("patent-ml", PatentRangeSolver::maximumLikelihood);
        SOLVERS.put("patent-lg", () -> patentVariant("patent-lg",
                new PdfFitter(List.of(PdfFamily.LAPLACE, PdfFamily.GAUSSIAN))));
        SOLVERS.put("patent-folded", () -> patentVariant("patent-folded",
                new PdfFitter(List.of(PdfFamily.values()), false)));

    }

    private RangeMethods() {
    }

    private static RangeSolver patentVariant(String name, PdfFitter fitter) {
        return new PatentRangeSolver(name, fitter, ClipError.NoiseWeight.INSIDE_ONLY,
                PatentRangeSolver.PointSet.MOMENTS_QUANTILES_EXTREMES, PatentRangeSolver.Evaluation.TABULATED);
    }

    /** All listed names, in a stable order. */
    public static List<String> names() {
        return List.copyOf(SOLVERS.keySet());
    }

    /** A solver for each listed name. */
    public static List<RangeSolver> all() {
        return SOLVERS.values().stream().map(Supplier::get).toList();
    }

    /**
     * The solver of the given name (case-insensitive).
     *
     * @throws IllegalArgumentException for an unknown name; the message lists the known ones
     */
    public static RangeSolver byName(String name) {
        String key = name.trim().toLowerCase(java.util.Locale.ROOT);
        Supplier<RangeSolver> s = SOLVERS.get(key);
        if (s != null) {
            return s.get();
        }
        if (key.startsWith("percentile-")) {
            try {
                return new PercentileSolver(Double.parseDouble(key.substring("percentile-".length())));
            } catch (IllegalArgumentException e) {
                // fall through to the message below
            }
        }
        throw new IllegalArgumentException("unknown range method '" + name + "'; known: " + String.join(", ", names())
                + " (and percentile-P for P in (0, 100])");
    }
}
