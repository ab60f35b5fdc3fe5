package org.quant4j.graph;

import java.util.Arrays;
import java.util.List;
import org.quant4j.range.QuantGrid;

/**
 * How one tensor is quantized: its grid and one scale per channel (or a single scale for the whole tensor), and for
 * an asymmetric activation one zero point per channel.
 *
 * <p>Element {@code x} of channel {@code c} becomes {@code q = clamp(rint(x / scales[c]) + z[c], grid.qmin(),
 * grid.qmax())} and is used as {@code (q - z[c]) * scales[c]} (see {@link QuantGrid}), {@code z} all 0 without zero
 * points.
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
 * @param input       weights only: the activation (quantization point) the weights multiply, or null
 * @param inputAxis   weights only: the input-channel axis, or -1
 * @param inputScales weights only: the scale of the activation each input row multiplies (expanded to the
 *                    weight's input size), folded into the weights before they are quantized
 *                    ({@code W'[o, c] = W[o, c] * inputScales[c]}); empty for activations
 * @param zeroPoints  activations on the asymmetric grid only: the zero point per channel (as many as scales, each a
 *                    level of the unsigned grid); empty (or null, as in files saved before zero points) for none
 */
public record TensorQuantization(String tensor, Kind kind, int rank, int axis, QuantGrid grid, float[] scales,
        double[] lo, double[] hi, List<String> consumers, String input, int inputAxis, float[] inputScales,
        int[] zeroPoints) {

    /** What a quantized tensor is. */
    public enum Kind { ACTIVATION, WEIGHT }

    /** An activation's quantization (no input scales). */
    public static TensorQuantization activation(String tensor, int rank, int axis, QuantGrid grid, float[] scales,
            double[] lo, double[] hi, List<String> consumers) {
        return new TensorQuantization(tensor, Kind.ACTIVATION, rank, axis, grid, scales, lo, hi, consumers, null, -1,
                new float[0]);
    }

    /** A quantization without zero points. */
    public TensorQuantization(String tensor, Kind kind, int rank, int axis, QuantGrid grid, float[] scales,
            double[] lo, double[] hi, List<String> consumers, String input, int inputAxis, float[] inputScales) {
        this(tensor, kind, rank, axis, grid, scales, lo, hi, consumers, input, inputAxis, inputScales, new int[0]);
    }

    /** An asymmetric activation's quantization: zero points {@code zeroPoints}, one per scale. */
    public static TensorQuantization asymmetric(String tensor, int rank, int axis, QuantGrid grid, float[] scales,
            int[] zeroPoints, double[] lo, double[] hi, List<String> consumers) {
        return new TensorQuantization(tensor, Kind.ACTIVATION, rank, axis, grid, scales, lo, hi, consumers, null, -1,
                new float[0], zeroPoints);
    }

    public TensorQuantization {
        consumers = List.copyOf(consumers);
        zeroPoints = zeroPoints == null ? new int[0] : zeroPoints;
        if (zeroPoints.length > 0) {
            if (kind != Kind.ACTIVATION || grid.signed() || zeroPoints.length != scales.length) {
                throw new IllegalArgumentException(tensor + ": zero points are for activations on the unsigned grid,"
                        + " one per scale; got " + zeroPoints.length + " for " + scales.length + " scales ("
                        + kind + ", " + grid + ")");
            }
            for (int z : zeroPoints) {
                if (z < grid.qmin() || z > grid.qmax()) {
                    throw new IllegalArgumentException(tensor + ": zero point " + z + " outside the grid "
                            + grid.qmin() + ".." + grid.qmax());
                }
            }
        }
        if (scales.length != lo.length || scales.length != hi.length) {
            throw new IllegalArgumentException(tensor + ": " + scales.length + " scales but " + lo.length
                    + " ranges");
        }
        if (axis < -1 || axis >= rank) {
            throw new IllegalArgumentException(tensor + ": channel axis " + axis + " out of range for rank " + rank);
        }
    }

    /** Whether the tensor has zero points (the asymmetric grid), even if some are 0. */
    public boolean hasZeroPoints() {
        return zeroPoints.length > 0;
    }

    /** The zero point of channel {@code c} (of the only channel for a per-tensor quantization); 0 without. */
    public int zeroPoint(int c) {
        return zeroPoints.length == 0 ? 0 : zeroPoints[perTensor() ? 0 : c];
    }

    /** Whether one scale serves the whole tensor. */
    public boolean perTensor() {
        return axis < 0;
    }

    /** The shape of the scale array that broadcasts against the tensor: [1, C, 1, 1] for axis 1 of rank 4. */
    public long[] scaleShape() {
        return perTensor() ? new long[0] : broadcastShape(axis, scales.length);
    }

    /** The shape of the input-scale array that broadcasts against the weight along its input axis. */
    public long[] inputScaleShape() {
        return broadcastShape(inputAxis, inputScales.length);
    }

    private long[] broadcastShape(int along, int size) {
        long[] shape = new long[rank];
        Arrays.fill(shape, 1);
        shape[along] = size;
        return shape;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorQuantization t && t.tensor.equals(tensor) && t.kind == kind && t.rank == rank
                && t.axis == axis && t.grid.equals(grid) && Arrays.equals(t.scales, scales)
                && Arrays.equals(t.lo, lo) && Arrays.equals(t.hi, hi) && t.consumers.equals(consumers)
                && java.util.Objects.equals(t.input, input) && t.inputAxis == inputAxis
                && Arrays.equals(t.inputScales, inputScales) && Arrays.equals(t.zeroPoints, zeroPoints);
    }

    @Override
    public int hashCode() {
        return tensor.hashCode() * 31 + Arrays.hashCode(scales);
    }

    @Override
    public String toString() {
        return kind + " " + tensor + " " + grid + " axis " + axis + " (" + scales.length + " scales"
                + (hasZeroPoints() ? ", zero points" : "") + ")";
    }
}
