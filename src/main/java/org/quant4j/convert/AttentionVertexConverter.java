package org.quant4j.convert;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * AttentionVertex: the {@link Attention} of its first input (queries [N, Fq, Tq]) over its second (keys [N, Fk, Tk])
 * with its third as values [N, Fv, Tk], with the projections {@code Wq}, {@code Wk}, {@code Wv}, {@code Wo} when it
 * projects its inputs; the output [N, nOut, Tq] (Fv without projections). DL4J masks the keys with the elementwise
 * minimum of the keys' and values' masks and multiplies the output by the queries' mask; a ComputationGraph is
 * converted without masks, so neither applies here.
 */
final class AttentionVertexConverter {

    private AttentionVertexConverter() {
    }

    /** The vertex's output, named {@code name}. */
    static Tensor convert(SameDiff sd, String name, AttentionVertex vertex, List<Tensor> in,
            Map<String, INDArray> params, String where) {
        if (in.size() != 3) {
            throw new UnsupportedLayerException(where + ": AttentionVertex takes 3 inputs (queries, keys, values), has "
                    + in.size());
        }
        for (Tensor t : in) {
            if (t.rank() != 3) {
                throw new UnsupportedLayerException(where + ": AttentionVertex takes sequences [N, F, T], receives rank "
                        + t.rank());
            }
        }
        long[] queries = Sequences.shape(sd, where, in.get(0));
        long[] keys = Sequences.shape(sd, where, in.get(1));
        Attention.Projections projections = null;
        if (vertex.isProjectInput()) {
            projections = new Attention.Projections(param(params, "Wq", where), param(params, "Wk", where),
                    param(params, "Wv", where), param(params, "Wo", where));
        }
        Attention attention = new Attention(sd, name, projections, queries[1]);
        SDVariable k = in.get(1).variable();
        SDVariable v = in.get(2).variable() == k ? k : in.get(2).variable();
        SDVariable rows = attention.attend(name, in.get(0).variable(), Math.toIntExact(queries[2]), k, v,
                Math.toIntExact(keys[2]), null);
        return new Tensor(Sequences.fromRows(sd, name, rows, RNNFormat.NCW, in.get(0).variable()), 3);
    }

    private static INDArray param(Map<String, INDArray> params, String key, String where) {
        INDArray value = params.get(key);
        if (value == null) {
            throw new UnsupportedLayerException(where + " has no parameter '" + key + "' (has " + params.keySet() + ")");
        }
        return value;
    }
}
