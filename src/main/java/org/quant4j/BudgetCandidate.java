package org.quant4j;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model the accuracy-budget search ({@link Quantizer#quantizeWithinBudget}) asks its {@link ValidationMetric} to
 * score: the fp32 reference, or a quantized candidate. A metric that scores elsewhere than in this JVM (a cluster)
 * reads the quantized model itself ({@link #quantizedModel()}, its {@code .q4j} bytes sent to the workers) and, for
 * the fp32 reference, the user's own network; any other metric calls {@link #output}.
 */
public final class BudgetCandidate {

    private final Function<INDArray, INDArray> output;
    private final QuantizedModel model;

    private BudgetCandidate(Function<INDArray, INDArray> output, QuantizedModel model) {
        this.output = Objects.requireNonNull(output, "output");
        this.model = model;
    }

    /** The fp32 reference: the converted network as a function of its first input to its first output. */
    public static BudgetCandidate fp32(Function<INDArray, INDArray> output) {
        return new BudgetCandidate(output, null);
    }

    /** A quantized candidate: scored through {@link QuantizedModel#output}, its int8 plan where it has one. */
    public static BudgetCandidate quantized(QuantizedModel model) {
        Objects.requireNonNull(model, "model");
        return new BudgetCandidate(model::output, model);
    }

    /** True for the fp32 reference. */
    public boolean isFp32() {
        return model == null;
    }

    /** The quantized model; empty for the fp32 reference. */
    public Optional<QuantizedModel> quantizedModel() {
        return Optional.ofNullable(model);
    }

    /** The candidate's first output for a batch of features. */
    public INDArray output(INDArray features) {
        return output.apply(features);
    }

    @Override
    public String toString() {
        return isFp32() ? "fp32 reference" : "quantized candidate";
    }
}
