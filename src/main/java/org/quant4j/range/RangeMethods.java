package org.quant4j.range;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.quant4j.range.pdf.PdfFamily;
import org.quant4j.range.pdf.PdfFitter;
import org.quant4j.range.pdf.ClipError;

/**
 * The range methods by name, for the builder and the command line.
 *
 * <p>Names: "minmax", "percentile-99.99", "percentile-99.999", "entropy", "mse", "aciq", "fitted-pdf" (the method
 * of US11481608B2, {@link FittedPdfRangeSolver}); any "percentile-P" with P in (0, 100] is also accepted.
 * "fitted-pdf" chooses, among the fitted members of the families, the one whose corrected range gives the observed
 * values the least quantization error. Variants kept for measurement (the accuracy study compares them):
 * "fitted-pdf-ml" takes the member of largest likelihood; "fitted-pdf-lg" has two candidate PDFs, Laplace and
 * Gaussian, instead of the eight of claim 10; "fitted-pdf-folded" (likelihood, too) models every one-sided channel
 * by the folded half of a centred PDF only, without the rectified members of {@link PdfFitter}. The names the
 * project used before, "patent" and "patent-ml", "patent-lg", "patent-folded", are aliases.
 */
public final class RangeMethods {

    /** The name of the fitted-PDF method of US11481608B2, the default. */
    public static final String FITTED_PDF = "fitted-pdf";
    /** The method's name before it was named for what it does; still accepted. */
    public static final String ALIAS_PREFIX = "patent";

    private static final Map<String, Supplier<RangeSolver>> SOLVERS = new LinkedHashMap<>();

    static {
        SOLVERS.put("minmax", MinMaxSolver::new);
        SOLVERS.put("percentile-99.99", () -> new PercentileSolver(99.99));
        SOLVERS.put("percentile-99.999", () -> new PercentileSolver(99.999));
        SOLVERS.put("entropy", EntropySolver::new);
        SOLVERS.put("mse", MseSolver::new);
        SOLVERS.put("aciq", AciqSolver::new);
        SOLVERS.put(FITTED_PDF, FittedPdfRangeSolver::new);
        SOLVERS.put(FITTED_PDF + "-ml", FittedPdfRangeSolver::maximumLikelihood);
        SOLVERS.put(FITTED_PDF + "-lg", () -> variant(FITTED_PDF + "-lg",
                new PdfFitter(List.of(PdfFamily.LAPLACE, PdfFamily.GAUSSIAN))));
        SOLVERS.put(FITTED_PDF + "-folded", () -> variant(FITTED_PDF + "-folded",
                new PdfFitter(List.of(PdfFamily.values()), false)));

    }

    private RangeMethods() {
    }

    private static RangeSolver variant(String name, PdfFitter fitter) {
        return new FittedPdfRangeSolver(name, fitter, ClipError.NoiseWeight.INSIDE_ONLY,
                FittedPdfRangeSolver.PointSet.MOMENTS_QUANTILES_EXTREMES, FittedPdfRangeSolver.Evaluation.TABULATED);
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
     * The canonical name of {@code name} (case-insensitive; an alias "patent..." becomes "fitted-pdf..."), or
     * {@code name} itself when it is no listed name.
     */
    public static String canonical(String name) {
        String key = name.trim().toLowerCase(java.util.Locale.ROOT);
        if (key.startsWith(ALIAS_PREFIX)) {
            key = FITTED_PDF + key.substring(ALIAS_PREFIX.length());
        }
        return key;
    }

    /**
     * The solver of the given name (case-insensitive; aliases accepted, see {@link #canonical}).
     *
     * @throws IllegalArgumentException for an unknown name; the message lists the known ones
     */
    public static RangeSolver byName(String name) {
        String key = canonical(name);
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
