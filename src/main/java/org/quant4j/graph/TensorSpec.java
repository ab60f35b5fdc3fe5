package org.quant4j.graph;

import java.util.Arrays;

/**
 * The name and expected shape of a graph input; {@code -1} marks a dimension of any size (the batch, and image
 * sizes a convolutional network does not fix). A shape of {@code null} means the rank is not known.
 */
public record TensorSpec(String name, long[] shape) {

    /** Whether an array of the given shape can be fed to this input. */
    public boolean accepts(long[] actual) {
        if (shape == null) {
            return true;
        }
        if (actual.length != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] >= 0 && shape[i] != actual[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code value} in the shape this input takes: itself when it fits; flattened to [N, F] in C order when this
     * input is a flat [N, F] and {@code value} is an image batch of F values each (as DL4J accepts for networks
     * built with {@code InputType.convolutionalFlat}); null when it cannot fit.
     */
    public org.nd4j.linalg.api.ndarray.INDArray adapt(org.nd4j.linalg.api.ndarray.INDArray value) {
        long[] actual = value.shape();
        if (accepts(actual)) {
            return value;
        }
        if (shape != null && shape.length == 2 && shape[1] > 0 && actual.length > 2) {
            long features = 1;
            for (int i = 1; i < actual.length; i++) {
                features *= actual[i];
            }
            if (features == shape[1]) {
                return value.reshape('c', actual[0], features);
            }
        }
        return null;
    }

    /** The shape as text, e.g. {@code [-1, 1, 28, 28]}, or {@code [?]} when unknown. */
    public String shapeText() {
        return shape == null ? "[?]" : Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + shapeText();
    }
}
