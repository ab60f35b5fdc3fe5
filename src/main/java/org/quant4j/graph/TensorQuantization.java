package org.quant4j.graph;

import java.util.Arrays;
import java.util.List;
import org.quant4j.range.QuantGrid;

/**
 * How one tensor is quantized: its grid and one scale per channel (or a single scale for the whole tensor).
 *
 * <p>Element {@code x} of channel {@code c} becomes {@code q = clamp(rint(x / scales[c]), grid.qmin(), grid.qmax())}
 * and is used as {@code q * scales[c]} (see {@link QuantGrid}).
 *
 * @param tensor    the variable's name in the fp32 graph
 * @param kind      activation (quantized at run time) or weight (quantized once, stored as integers)
 * @param rank      the tensor's rank
 * @param axis      the channel axis, or -1 for a single scale over the whole tensor
 * @param grid      bits and signedness
 * @param scales    the step per channel (length 1 when {@code axis == -1}), as float, the precision the graph uses
 * @param lo        the solved clip range's lower end per channel (for reports)
 * @param hi        the solved clip range's upper end per channel (for reports)
 * @param consumers the ops that read the quantized tensor instead of the original one
 */
public record TensorQuantization(String tensor, Kind kind, int rank, int axis, QuantGrid grid, float[] scales,
        double[] lo, double[] hi, List<String> consumers) {

    /** What a quantized tensor is. */
    public enum Kind { ACTIVATION, WEIGHT }

    public TensorQuantization {
        consumers = List.copyOf(consumers);
        if (scales.length != lo.length || scales.length != hi.length) {
            throw new IllegalArgumentException(tensor + ": " + scales.length + " scales but " + lo.length
                    + " ranges");
        }
        if (axis < -1 || axis >= rank) {
            throw new IllegalArgumentException(tensor + ": channel axis " + axis + " out of range for rank " + rank);
        }
    }

    /** Whether one scale serves the whole tensor. */
    public boolean perTensor() {
        return axis < 0;
    }

    /** The shape of the scale array that broadcasts against the tensor: [1, C, 1, 1] for axis 1 of rank 4. */
    public long[] scaleShape() {
        if (perTensor()) {
            return new long[0];
        }
        long[] shape = new long[rank];
        Arrays.fill(shape, 1);
        shape[axis] = scales.length;
        return shape;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorQuantization t && t.tensor.equals(tensor) && t.kind == kind && t.rank == rank
                && t.axis == axis && t.grid.equals(grid) && Arrays.equals(t.scales, scales)
                && Arrays.equals(t.lo, lo) && Arrays.equals(t.hi, hi) && t.consumers.equals(consumers);
    }

    @Override
    public int hashCode() {
        return tensor.hashCode() * 31 + Arrays.hashCode(scales);
    }

    @Override
    public String toString() {
        return kind + " " + tensor + " " + grid + " axis " + axis + " (" + scales.length + " scales)";
    }
}
