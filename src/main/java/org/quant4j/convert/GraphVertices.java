package org.quant4j.convert;

import java.util.List;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.L2Vertex;
import org.deeplearning4j.nn.conf.graph.ReshapeVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The ComputationGraph vertices without parameters that reshape or combine values, as DL4J computes them at
 * inference (on the values as DL4J holds them):
 * <ul>
 * <li>SubsetVertex: {@code x[:, from..to]} (both inclusive) along dimension 1, for rank 2 to 4;</li>
 * <li>StackVertex: the inputs concatenated along dimension 0 (the batch);</li>
 * <li>UnstackVertex: part {@code from} of {@code stackSize} equal parts along dimension 0;</li>
 * <li>ReshapeVertex: {@code x.reshape(order, newShape)}, the shape with the batch dimension, in C or F order (an
 * F-order reshape is the C-order reshape of the transposed array to the reversed shape, transposed back);</li>
 * <li>L2Vertex: the Euclidean distance of its two inputs per example, over every dimension but the batch, as [N, 1].</li>
 * </ul>
 */
final class GraphVertices {

    private GraphVertices() {
    }

    /** Whether this class converts the vertex. */
    static boolean supports(GraphVertex vertex) {
        return vertex instanceof SubsetVertex || vertex instanceof StackVertex || vertex instanceof UnstackVertex
                || vertex instanceof ReshapeVertex || vertex instanceof L2Vertex;
    }

    /** The vertex's output, named {@code name}. */
    static Tensor convert(SameDiff sd, String name, GraphVertex vertex, List<Tensor> in, String where) {
        if (vertex instanceof SubsetVertex s) {
            Tensor x = single(in, where);
            if (x.rank() < 2 || x.rank() > 4) {
                throw new UnsupportedLayerException(where + ": SubsetVertex takes rank 2 to 4, receives rank " + x.rank());
            }
            long[] begin = new long[x.rank()];
            long[] end = new long[x.rank()];
            long[] strides = new long[x.rank()];
            java.util.Arrays.fill(strides, 1);
            begin[1] = s.getFrom();
            end[1] = s.getTo() + 1L;
            int wholeMask = ((1 << x.rank()) - 1) & ~0b10; // every dimension but 1 taken whole
            return new Tensor(sd.stridedSlice(name, x.variable(), begin, end, strides, wholeMask, wholeMask, 0, 0, 0),
                    x.rank());
        }
        if (vertex instanceof StackVertex) {
            SDVariable[] v = in.stream().map(Tensor::variable).toArray(SDVariable[]::new);
            return new Tensor(v.length == 1 ? sd.identity(name, v[0]) : sd.concat(name, 0, v), in.get(0).rank());
        }
        if (vertex instanceof UnstackVertex u) {
            Tensor x = single(in, where);
            int parts = u.getStackSize();
            if (parts < 1 || u.getFrom() < 0 || u.getFrom() >= parts) {
                throw new UnsupportedLayerException(where + ": UnstackVertex takes part " + u.getFrom() + " of "
                        + parts);
            }
            if (parts == 1) {
                return new Tensor(sd.identity(name, x.variable()), x.rank());
            }
            String[] names = new String[parts];
            for (int i = 0; i < parts; i++) {
                names[i] = i == u.getFrom() ? name : name + "/part" + i;
            }
            return new Tensor(sd.split(names, x.variable(), parts, 0)[u.getFrom()], x.rank());
        }
        if (vertex instanceof ReshapeVertex r) {
            return reshape(sd, name, r, single(in, where), where);
        }
        if (vertex instanceof L2Vertex) {
            if (in.size() != 2) {
                throw new UnsupportedLayerException(where + ": L2Vertex takes 2 inputs, has " + in.size());
            }
            int rank = in.get(0).rank();
            int[] dims = new int[rank - 1];
            for (int d = 1; d < rank; d++) {
                dims[d - 1] = d;
            }
            SDVariable diff = sd.math.sub(name + "/diff", in.get(0).variable(), in.get(1).variable());
            // kept dimensions ([N, 1, ...]): a quantization point moved up through the reshape keeps a channel axis
            if (rank == 2) {
                return new Tensor(sd.norm2(name, diff, true, dims), 2);
            }
            SDVariable norm = sd.norm2(name + "/norm", diff, true, dims);
            return new Tensor(sd.reshape(name, norm, -1, 1), 2);
        }
        throw new IllegalArgumentException(where + ": " + vertex.getClass().getSimpleName() + " is not one of "
                + GraphVertices.class.getSimpleName() + "'s");
    }

    private static Tensor reshape(SameDiff sd, String name, ReshapeVertex r, Tensor x, String where) {
        int[] shape = r.getNewShape();
        if (shape == null || shape.length == 0) {
            throw new UnsupportedLayerException(where + ": ReshapeVertex has no shape");
        }
        long[] s = java.util.Arrays.stream(shape).asLongStream().toArray();
        char order = r.getReshapeOrder();
        if (order == 'c') {
            return new Tensor(sd.reshape(name, x.variable(), s), s.length);
        }
        if (order != 'f') {
            throw new UnsupportedLayerException(where + ": ReshapeVertex order '" + order + "' (c or f)");
        }
        long[] reversed = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            reversed[i] = s[s.length - 1 - i];
        }
        SDVariable t = sd.permute(name + "/transposed", x.variable(), reverse(x.rank()));
        SDVariable reshaped = sd.reshape(name + "/reshaped", t, reversed);
        return new Tensor(sd.permute(name, reshaped, reverse(s.length)), s.length);
    }

    private static int[] reverse(int rank) {
        int[] axes = new int[rank];
        for (int i = 0; i < rank; i++) {
            axes[i] = rank - 1 - i;
        }
        return axes;
    }

    private static Tensor single(List<Tensor> in, String where) {
        if (in.size() != 1) {
            throw new UnsupportedLayerException(where + " has " + in.size() + " inputs; it takes exactly one");
        }
        return in.get(0);
    }
}
