package org.quant4j.quantize;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.graph.DequantizedGraph;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.InputFeed;

/**
 * How far a quantized network's predictions lie from the fp32 network's, example by example: the measure by which
 * the per-point granularity checks its choices against per-channel scales everywhere, and the test of whether one
 * quantization is closer than another beyond chance.
 *
 * <p>For an output made by a softmax, each example's Kullback-Leibler divergence of the quantized predictions {@code
 * q} from the fp32 ones {@code p}, {@code KL(p || q) = sum_k p_k (ln p_k - ln q_k)} (in nats; a term with {@code p_k
 * = 0} counts 0, {@code q_k} is taken at least {@code 1e-30}), divided by the number of examples. It weighs an error
 * by the probability it moves, as a classifier's loss does: an error on the logits of unlikely classes, or one common
 * to every logit of an example, costs little. For any other output, each example's share of the noise-to-signal
 * ratio, {@code sum_j (y~_j - y_j)^2 / sum_all y^2}. An example's measure is the sum over the outputs, so the measures
 * of all examples add up to the mean KL divergence plus the noise-to-signal ratio.
 */
public final class OutputDivergence {

    /** One-sided significance level of {@link #significantlyCloser}. */
    public static final double SIGNIFICANCE = 0.05;

    /** Up to this many differing examples {@link #pCloser} enumerates every sign vector. */
    static final int EXACT_UP_TO = 16;

    /** Random sign vectors {@link #pCloser} draws beyond {@link #EXACT_UP_TO} examples, and their seed. */
    static final int DRAWS = 100_000;
    private static final long SEED = 20_190_605L;

    private static final double FLOOR = 1e-30;

    private OutputDivergence() {
    }

    /**
     * Each example's divergence of every network of {@code quantized} from {@code fp32} on {@code batches}: one row
     * per network, one column per example in order. The fp32 outputs are computed once per batch for all of them and
     * held (outputs only); then the networks run one after the other, each with its weights dequantized once
     * ({@link DequantizedGraph}) and freed before the next.
     */
    public static double[][] perExample(ModelGraph fp32, List<ModelGraph> quantized, List<INDArray[]> batches) {
        int outputs = fp32.outputs().size();
        boolean[] softmax = new boolean[outputs];
        for (int i = 0; i < outputs; i++) {
            softmax[i] = isSoftmax(fp32, fp32.outputs().get(i));
        }
        int examples = 0;
        List<Map<String, INDArray>> feeds = new java.util.ArrayList<>();
        for (int b = 0; b < batches.size(); b++) {
            examples += (int) batches.get(b)[0].size(0);
            feeds.add(InputFeed.of(fp32.inputs(), batches.get(b), "calibration batch " + b + ": features"));
        }
        double[][][] terms = new double[quantized.size()][outputs][examples];
        double[] signal = new double[outputs];
        INDArray[][] references = new INDArray[batches.size()][outputs];
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> reference = GraphExecution.output(fp32.graph(), feeds.get(b), fp32.outputs());
            for (int i = 0; i < outputs; i++) {
                INDArray p = rows(reference.get(fp32.outputs().get(i)).castTo(DataType.DOUBLE));
                references[b][i] = p;
                if (!softmax[i]) {
                    signal[i] += p.mul(p).sumNumber().doubleValue();
                }
            }
        }
        for (int g = 0; g < quantized.size(); g++) {
            try (DequantizedGraph view = DequantizedGraph.of(quantized.get(g))) {
                int first = 0;
                for (int b = 0; b < batches.size(); b++) {
                    Map<String, INDArray> actual = GraphExecution.output(view.graph().graph(), feeds.get(b),
                            fp32.outputs());
                    for (int i = 0; i < outputs; i++) {
                        INDArray q = rows(actual.get(fp32.outputs().get(i)).castTo(DataType.DOUBLE));
                        double[] byExample = softmax[i] ? klRows(references[b][i], q)
                                : squaredErrorRows(references[b][i], q);
                        System.arraycopy(byExample, 0, terms[g][i], first, byExample.length);
                    }
                    first += (int) batches.get(b)[0].size(0);
                }
            }
        }
        double[][] divergence = new double[quantized.size()][examples];
        for (int g = 0; g < quantized.size(); g++) {
            for (int i = 0; i < outputs; i++) {
                double scale = softmax[i] ? examples : Math.max(signal[i], Double.MIN_NORMAL);
                for (int e = 0; e < examples; e++) {
                    divergence[g][e] += terms[g][i][e] / scale;
                }
            }
        }
        return divergence;
    }

    /**
     * Whether {@link #significantlyCloser} can hold at all on {@code examples} examples: the smallest p-value of the
     * sign-flip test, {@code 2^-examples} (every difference in the candidate's favour), is below {@link
     * #SIGNIFICANCE}. False below five examples.
     */
    public static boolean canReject(int examples) {
        return Math.pow(0.5, examples) < SIGNIFICANCE;
    }

    /**
     * Whether the examples' divergences {@code candidate} sum to less than {@code incumbent}'s (the same examples, in
     * the same order) beyond chance: {@link #pCloser} below {@link #SIGNIFICANCE}.
     */
    public static boolean significantlyCloser(double[] candidate, double[] incumbent) {
        return pCloser(candidate, incumbent) < SIGNIFICANCE;
    }

    /**
     * The one-sided p-value of the paired sign-flip (permutation) test of the summed divergence. With {@code d_e =
     * incumbent_e - candidate_e} over the examples whose divergences differ and {@code T = sum_e d_e}: under the null
     * hypothesis that neither quantization is closer, each difference is as likely to have either sign, so {@code p =
     * P(sum_e s_e |d_e| >= T)} over the {@code 2^n} sign vectors {@code s} (enumerated up to {@link #EXACT_UP_TO}
     * differing examples, else estimated as {@code (1 + hits) / (1 + draws)} from {@link #DRAWS} seeded random sign
     * vectors). 1 when no example differs.
     *
     * <p>It tests the sum, the quantity the check decides on and the one a classifier's loss follows, and assumes no
     * distribution for the differences, whose tails are long: a few examples near a decision boundary can carry most
     * of the sum, and then the evidence is as weak as those few examples. With fewer than five differing examples it
     * can never reject at 5 % ({@code 2^-4 > 0.05}).
     */
    public static double pCloser(double[] candidate, double[] incumbent) {
        if (candidate.length != incumbent.length) {
            throw new IllegalArgumentException("paired divergences of " + candidate.length + " and "
                    + incumbent.length + " examples");
        }
        double[] magnitude = new double[candidate.length];
        int n = 0;
        double observed = 0;
        for (int e = 0; e < candidate.length; e++) {
            double d = incumbent[e] - candidate[e];
            if (d != 0) {
                magnitude[n++] = Math.abs(d);
                observed += d;
            }
        }
        if (n == 0) {
            return 1;
        }
        double[] m = Arrays.copyOf(magnitude, n);
        // Sums equal to the observed one up to rounding count as at least as extreme.
        double threshold = observed - 1e-12 * Arrays.stream(m).sum();
        if (n <= EXACT_UP_TO) {
            long hits = 0;
            for (long signs = 0; signs < 1L << n; signs++) {
                double t = 0;
                for (int e = 0; e < n; e++) {
                    t += (signs >>> e & 1) == 0 ? m[e] : -m[e];
                }
                hits += t >= threshold ? 1 : 0;
            }
            return hits / (double) (1L << n);
        }
        java.util.SplittableRandom random = new java.util.SplittableRandom(SEED);
        long hits = 0;
        for (int draw = 0; draw < DRAWS; draw++) {
            double t = 0;
            long signs = 0;
            for (int e = 0; e < n; e++) {
                if ((e & 63) == 0) {
                    signs = random.nextLong();
                }
                t += (1 - 2 * (signs >>> (e & 63) & 1)) * m[e];
            }
            hits += t >= threshold ? 1 : 0;
        }
        return (1 + hits) / (1.0 + DRAWS);
    }

    /** {@code sum_k p_k (ln p_k - ln q_k)} of each row. */
    public static double[] klRows(INDArray p, INDArray q) {
        INDArray lnP = Transforms.log(Transforms.max(p, FLOOR, true), false);
        INDArray lnQ = Transforms.log(Transforms.max(q, FLOOR, true), false);
        return p.mul(lnP.sub(lnQ)).sum(1).toDoubleVector();
    }

    private static double[] squaredErrorRows(INDArray y, INDArray yq) {
        INDArray e = yq.sub(y);
        return e.mul(e).sum(1).toDoubleVector();
    }

    /** {@code [N, ...]} as {@code [N, rest]}. */
    private static INDArray rows(INDArray a) {
        return a.rank() == 2 ? a : a.reshape(a.size(0), a.length() / a.size(0));
    }

    private static boolean isSoftmax(ModelGraph graph, String output) {
        String producer = graph.graph().getVariables().get(output).getOutputOfOp();
        if (producer == null) {
            return false;
        }
        SameDiffOp op = graph.graph().getOps().get(producer);
        return op.getOp().opName().equals("softmax");
    }
}
