package org.quant4j.convert;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.graph.rnn.ReverseTimeSeriesVertex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The ComputationGraph vertices of DL4J's {@code graph.rnn} package, on sequences [N, F, T] (NCW, as DL4J's vertices
 * take them):
 * <ul>
 * <li>LastTimeStepVertex: {@code x[:, :, T - 1]}, [N, F];</li>
 * <li>DuplicateToTimeSeriesVertex: [N, F] repeated over the T steps of the network input it names, [N, F, T];</li>
 * <li>ReverseTimeSeriesVertex: the steps in reverse order.</li>
 * </ul>
 * A ComputationGraph is converted without feature masks: DL4J's per-example last step and reversal under a mask
 * do not arise.
 */
final class RnnVertices {

    private RnnVertices() {
    }

    /** Whether this class converts the vertex. */
    static boolean supports(GraphVertex vertex) {
        return vertex instanceof LastTimeStepVertex || vertex instanceof DuplicateToTimeSeriesVertex
                || vertex instanceof ReverseTimeSeriesVertex;
    }

    /**
     * The vertex's output, named {@code name}.
     *
     * @param values every value converted so far, by vertex or network input name
     */
    static Tensor convert(SameDiff sd, String name, GraphVertex vertex, List<Tensor> in, Map<String, Tensor> values,
            String where) {
        if (in.size() != 1) {
            throw new UnsupportedLayerException(where + " has " + in.size() + " inputs; it takes exactly one");
        }
        Tensor x = in.get(0);
        if (vertex instanceof DuplicateToTimeSeriesVertex d) {
            if (x.rank() != 2) {
                throw new UnsupportedLayerException(where + ": DuplicateToTimeSeriesVertex takes [N, F], receives rank "
                        + x.rank());
            }
            Tensor source = values.get(d.getInputName());
            if (source == null || source.rank() != 3) {
                throw new UnsupportedLayerException(where + ": DuplicateToTimeSeriesVertex reads the length of network"
                        + " input '" + d.getInputName() + "', which is " + (source == null ? "not an input of this part"
                        : "of rank " + source.rank()) + " (a sequence [N, F, T] is needed)");
            }
            long steps = Sequences.shape(sd, where, source)[2];
            SDVariable column = sd.expandDims(name + "/column", x.variable(), 2);
            return new Tensor(sd.tile(name, column, sd.constant(Nd4j.createFromArray(1, 1, Math.toIntExact(steps)))),
                    3);
        }
        if (x.rank() != 3) {
            throw new UnsupportedLayerException(where + ": " + vertex.getClass().getSimpleName()
                    + " takes sequences [N, F, T], receives rank " + x.rank());
        }
        if (vertex instanceof ReverseTimeSeriesVertex) {
            return new Tensor(sd.reverse(name, x.variable(), 2), 3);
        }
        return new Tensor(sd.stridedSlice(name, x.variable(), new long[] {0, 0, -1}, new long[] {0, 0, 0},
                new long[] {1, 1, 1}, 3, 7, 0, 0, 4), 2);
    }
}
