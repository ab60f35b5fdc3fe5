package org.quant4j;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Objects;
import java.util.function.Supplier;
import org.quant4j.range.RangeMethods;
import org.quant4j.range.RangeSolver;

/**
 * How quantization ranges are solved: one of the built-in methods (constants below, or {@link #named} for the
 * command line's names) or a user's own {@link RangeSolver} ({@link #of}). Equal when their names are equal.
 *
 * <p>A quantized model stores its methods' names only: a loaded model's method is named, and has a solver only when
 * the name is a built-in one.
 */
public final class RangeMethod {

    /**
     * The default: fit a PDF per channel, take the range that minimizes clipping error plus quantization noise,
     * corrected by a range from the SQNR of statistical points (the method of US11481608B2; alias "patent"). See
     * docs/RANGE_METHODS.md.
     */
    public static final RangeMethod FITTED_PDF = named(RangeMethods.FITTED_PDF);
    /** The observed minimum and maximum. */
    public static final RangeMethod MINMAX = named("minmax");
    /** The 99.99th percentile of the observed magnitudes. */
    public static final RangeMethod PERCENTILE_99_99 = named("percentile-99.99");
    /** The 99.999th percentile of the observed magnitudes. */
    public static final RangeMethod PERCENTILE_99_999 = named("percentile-99.999");
    /** The range whose quantized histogram has the least KL divergence from the observed one (TensorRT's). */
    public static final RangeMethod ENTROPY = named("entropy");
    /** The range of least expected squared error on the observed histogram. */
    public static final RangeMethod MSE = named("mse");
    /** ACIQ: the analytic optimum for a fitted Laplace or Gaussian (Banner et al. 2019). */
    public static final RangeMethod ACIQ = named("aciq");

    private final String name;
    private final Supplier<RangeSolver> solvers;

    private RangeMethod(String name, Supplier<RangeSolver> solvers) {
        this.name = name;
        this.solvers = solvers;
    }

    /**
     * The built-in method of this name (case-insensitive; "patent" and its variants are aliases of "fitted-pdf";
     * "percentile-P" for any P in (0, 100]).
     *
     * @throws IllegalArgumentException for an unknown name; the message lists the known ones
     */
    public static RangeMethod named(String name) {
        RangeMethods.byName(name); // validates, naming the known methods
        String canonical = RangeMethods.canonical(name);
        return new RangeMethod(canonical, () -> RangeMethods.byName(canonical));
    }

    /** A user's own solver (stateless and thread-safe, as {@link RangeSolver} requires), under its name. */
    public static RangeMethod of(RangeSolver solver) {
        Objects.requireNonNull(solver, "solver");
        Objects.requireNonNull(solver.name(), "solver.name()");
        return new RangeMethod(solver.name(), () -> solver);
    }

    /** The method stored in a model file: the built-in of that name, else the name of a user's solver. */
    @JsonCreator
    static RangeMethod stored(String name) {
        try {
            return named(name);
        } catch (IllegalArgumentException e) {
            return new RangeMethod(name, () -> {
                throw new QuantizationException("range method '" + name + "' is a user's own solver, which a saved "
                        + "model does not store; pass it again with RangeMethod.of(solver)");
            });
        }
    }

    /** The name, e.g. "fitted-pdf". */
    @JsonValue
    public String name() {
        return name;
    }

    /** The solver. */
    public RangeSolver solver() {
        return solvers.get();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RangeMethod m && m.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name;
    }
}
