package org.quant4j.convert;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Dot-product attention as libnd4j computes it for DL4J's attention layers and vertex ({@code dot_product_attention},
 * {@code multi_head_dot_product_attention}), written out in ordinary SameDiff ops so that the projections are
 * matmuls with constant weights (quantizable) and the rest runs as plain ops.
 *
 * <p>With projections (DL4J's {@code projectInput}): for queries Q [N, Fq, Tq], keys K [N, Fk, Tk] and values
 * V [N, Fv, Tk] (NCW), the heads' projections {@code q = Q_t Wq}, {@code k = K_t Wk}, {@code v = V_t Wv} per time
 * step, where {@code Wq} is DL4J's [heads, headSize, Fq] read as [heads * headSize, Fq] and transposed (feature
 * {@code head * headSize + j}); per head the scores {@code s = q k^T / sqrt(headSize)} [Tq, Tk], masked keys pushed
 * to {@code s + (m - 1) 1e9}, the weights {@code a = softmax(s)} over the keys, the result {@code a v} [Tq, headSize];
 * the heads side by side [Tq, heads * headSize] times {@code Wo} [heads * headSize, nOut]. Without projections
 * (one head): {@code softmax(Q_t K_t^T / sqrt(F)) V_t}.
 *
 * <p>The graph: each projection a {@code matmul} of the time-major rows [T N, F] ({@link Sequences#toRows}) by a
 * constant; the scores and the weighted sum batched matmuls [N, heads, ., .] of two activations (fp32: a quantizable
 * op takes one activation and a constant weight); the softmax written out ({@code exp(s - max s) / sum}); the heads'
 * results back to rows through a final transpose, so that the quantization point of {@code Wo}'s input stays there.
 */
final class Attention {

    /** libnd4j's mask offset: a masked key's score is lowered by this. */
    private static final double MASKED = 1e9;

    private final SameDiff sd;
    private final int heads;
    private final long headSize;
    private final SDVariable wq;
    private final SDVariable wk;
    private final SDVariable wv;
    private final SDVariable wo;

    /**
     * An attention block whose constants are named {@code <prefix>/Wq}, ...
     *
     * @param weights  the projections, or null (attention without projections)
     * @param features the number of features of the queries, keys and values, for attention without projections
     */
    Attention(SameDiff sd, String prefix, Projections weights, long features) {
        this.sd = sd;
        if (weights == null) {
            heads = 1;
            headSize = features;
            wq = wk = wv = wo = null;
        } else {
            heads = weights.heads();
            headSize = weights.headSize();
            wq = sd.constant(prefix + "/Wq", projection(weights.wq()));
            wk = sd.constant(prefix + "/Wk", projection(weights.wk()));
            wv = sd.constant(prefix + "/Wv", projection(weights.wv()));
            wo = sd.constant(prefix + "/Wo", weights.wo().dup('c'));
        }
    }

    /**
     * The projections of an attention block, DL4J's parameters: {@code wq}, {@code wk}, {@code wv} [heads,
     * headSize, F], {@code wo} [heads * headSize, nOut].
     */
    record Projections(INDArray wq, INDArray wk, INDArray wv, INDArray wo) {

        int heads() {
            return Math.toIntExact(wq.size(0));
        }

        long headSize() {
            return wq.size(1);
        }
    }

    /** Keys and values projected and split into heads, [N, heads, Tk, headSize] each. */
    record KeysValues(SDVariable keys, SDVariable values, int steps) {
    }

    /**
     * The keys [N, Fk, Tk] and values [N, Fv, Tk] (NCW; the same variable for self-attention) projected and split
     * into heads, computed once for any number of queries.
     */
    KeysValues keysValues(String name, SDVariable keys, SDVariable values, int steps) {
        SDVariable k = Sequences.toRows(sd, name + "/k_rows", keys, RNNFormat.NCW, -1);
        SDVariable v = values == keys ? k : Sequences.toRows(sd, name + "/v_rows", values, RNNFormat.NCW, -1);
        if (wk != null) {
            k = sd.mmul(name + "/k", k, wk);
            v = sd.mmul(name + "/v", v, wv);
        }
        SDVariable k4 = split(name + "/k_heads", k, steps);
        SDVariable v4 = v == k ? k4 : split(name + "/v_heads", v, steps);
        return new KeysValues(k4, v4, steps);
    }

    /**
     * The attention of the queries, given as time-major rows [Tq N, Fq], over {@code kv}, as rows [Tq N, nOut]
     * (nOut = F without projections).
     *
     * @param mask the keys' mask [N, Tk] (1: counts, 0: padding), or null
     */
    SDVariable attend(String name, SDVariable queryRows, int tq, KeysValues kv, SDVariable mask) {
        SDVariable q = wq == null ? queryRows : sd.mmul(name + "/q", queryRows, wq);
        SDVariable q4 = split(name + "/q_heads", q, tq);
        SDVariable scores = sd.math.div(name + "/scores", sd.mmul(name + "/qk", q4, kv.keys(), false, true, false),
                Math.sqrt(headSize));
        if (mask != null) {
            SDVariable offset = sd.math.mul(name + "/mask_offset", sd.math.sub(mask, 1.0), MASKED);
            scores = sd.math.add(name + "/scores_masked", scores, sd.reshape(offset, -1, 1, 1, kv.steps()));
        }
        SDVariable shifted = sd.math.sub(name + "/shifted", scores, sd.max(scores, true, 3));
        SDVariable exp = sd.math.exp(name + "/exp", shifted);
        SDVariable weights = sd.math.div(name + "/weights", exp, sd.sum(exp, true, 3));
        SDVariable result = sd.mmul(name + "/attended", weights, kv.values()); // [N, heads, Tq, headSize]
        SDVariable featureMajor = sd.permute(name + "/feature_major", result, 1, 3, 2, 0);
        SDVariable flat = sd.reshape(name + "/flat", featureMajor, heads * headSize, -1);
        SDVariable headRows = sd.permute(name + "/head_rows", flat, 1, 0);
        return wo == null ? headRows : sd.mmul(name + "/out", headRows, wo);
    }

    /** Self- or cross-attention of the sequences {@code queries} [N, Fq, Tq] (NCW), as rows [Tq N, nOut]. */
    SDVariable attend(String name, SDVariable queries, int tq, SDVariable keys, SDVariable values, int tk,
            SDVariable mask) {
        KeysValues kv = keysValues(name, keys, values, tk);
        return attend(name, Sequences.toRows(sd, name + "/q_rows", queries, RNNFormat.NCW, -1), tq, kv, mask);
    }

    /** DL4J's [heads, headSize, F] projection as the constant [F, heads * headSize] the rows are multiplied by. */
    private static INDArray projection(INDArray w) {
        return w.dup('c').reshape('c', w.size(0) * w.size(1), w.size(2)).transpose().dup('c');
    }

    /** Rows [T N, heads * headSize] as [N, heads, T, headSize]. */
    private SDVariable split(String name, SDVariable rows, int steps) {
        SDVariable split = sd.reshape(name + "/split", rows, steps, -1, heads, headSize);
        return sd.permute(name, split, 1, 2, 0, 3);
    }
}
