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
