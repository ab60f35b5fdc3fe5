package org.quant4j.graph;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Where the real taps of a weight lie that holds structural zeros: a dilated kernel that the converter spelled out
 * undilated (SameDiff M2.1's conv2d fails on dilations), so that a kernel of size k with dilation d became one of size
 * (k - 1) d + 1 with zeros between the taps. The taps are every {@code steps[a]}-th element along axis a, from 0;
 * every other element is a zero that is no part of the trained weights. Weight statistics observe the taps only,
 * so that a range method that fits a distribution fits the trained weights, as it would without the dilation.
 *
 * @param steps the step between taps along each axis of the weight (1 along the axes not spread)
 */
public record KernelTaps(long[] steps) {

    public KernelTaps {
        steps = steps.clone();
        for (long s : steps) {
            if (s < 1) {
                throw new IllegalArgumentException("steps must be positive: " + Arrays.toString(steps));
            }
        }
    }

    @Override
    public long[] steps() {
        return steps.clone();
    }

    /** A view of the taps of {@code weights}: the spread kernel, or an array of its shape (e.g. scales folded in). */
    public INDArray of(INDArray weights) {
        if (weights.rank() != steps.length) {
            throw new IllegalArgumentException("taps of rank " + steps.length + " for a weight of shape "
                    + Arrays.toString(weights.shape()));
        }
        INDArrayIndex[] index = new INDArrayIndex[steps.length];
        for (int a = 0; a < steps.length; a++) {
            index[a] = steps[a] == 1 ? NDArrayIndex.all() : NDArrayIndex.interval(0, steps[a], weights.size(a));
        }
        return weights.get(index);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KernelTaps t && Arrays.equals(steps, t.steps);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(steps);
    }

    @Override
    public String toString() {
        return "KernelTaps" + Arrays.toString(steps);
    }
}
