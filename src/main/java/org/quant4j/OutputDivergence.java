package org.quant4j;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/**
 * How far a quantized network's outputs lie from the fp32 network's, on given batches, by two measures: the measure by
 * which the per-point granularity checks its choices against per-channel scales everywhere.
 *
 * <ul>
 *   <li>{@code kl}: for each output made by a softmax, the mean Kullback-Leibler divergence of the quantized
 *       predictions {@code q} from the fp32 ones {@code p} per example, {@code KL(p || q) = sum_k p_k (ln p_k - ln
 *       q_k)} (in nats; a term with {@code p_k = 0} counts 0, {@code q_k} is taken at least {@code 1e-30}): an error
 *       weighed by the probability it moves, as a classifier's loss weighs it. 0 without a softmax output.</li>
 *   <li>{@code noiseToSignal}: {@code sum (y~ - y)^2 / sum y^2} of each output, taken before a final softmax and less
 *       each example's mean logit there ({@code z - mean_k z}: a value added to every logit of an example changes no
 *       probability): the error of the values, however likely the classes they stand for.</li>
 * </ul>
 * Each is summed over the outputs.
 */
record OutputDivergence(double kl, double noiseToSignal) {

    private static final double FLOOR = 1e-30;

    /**
     * Whether these outputs are closer to fp32 than {@code other}'s by both measures: neither larger, and one smaller.
     */
    boolean closerThan(OutputDivergence other) {
        return kl <= other.kl && noiseToSignal <= other.noiseToSignal
                && (kl < other.kl || noiseToSignal < other.noiseToSignal);
    }

    static OutputDivergence of(ModelGraph fp32, ModelGraph quantized, List<INDArray[]> batches) {
        int outputs = fp32.outputs().size();
        List<String> measured = new java.util.ArrayList<>(fp32.outputs());
        String[] logits = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            logits[i] = logitsOf(fp32, fp32.outputs().get(i));
            if (logits[i] != null) {
                measured.add(logits[i]);
            }
        }
        double[] divergence = new double[outputs];
        double[] noise = new double[outputs];
        double[] signal = new double[outputs];
        long examples = 0;
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> feed = QuantizedModel.feed(fp32.inputs(), batches.get(b),
                    "calibration batch " + b + ": features");
            Map<String, INDArray> reference = GraphExecution.output(fp32.graph(), feed, measured);
            Map<String, INDArray> actual = GraphExecution.output(quantized.graph(), feed, measured);
            for (int i = 0; i < outputs; i++) {
                String output = fp32.outputs().get(i);
                INDArray y;
                INDArray yq;
                if (logits[i] != null) {
                    divergence[i] += klSum(reference.get(output).castTo(DataType.DOUBLE),
                            actual.get(output).castTo(DataType.DOUBLE));
                    y = centred(reference.get(logits[i]).castTo(DataType.DOUBLE));
                    yq = centred(actual.get(logits[i]).castTo(DataType.DOUBLE));
                } else {
                    y = reference.get(output).castTo(DataType.DOUBLE);
                    yq = actual.get(output).castTo(DataType.DOUBLE);
                }
                INDArray e = yq.sub(y);
                noise[i] += e.mul(e).sumNumber().doubleValue();
                signal[i] += y.mul(y).sumNumber().doubleValue();
            }
            examples += batches.get(b)[0].size(0);
        }
        double kl = 0;
        double noiseToSignal = 0;
        for (int i = 0; i < outputs; i++) {
            kl += divergence[i] / Math.max(1, examples);
            noiseToSignal += noise[i] == 0 ? 0 : noise[i] / signal[i];
        }
        return new OutputDivergence(kl, noiseToSignal);
    }

    /** {@code sum over examples and classes of p (ln p - ln q)}: the KL divergences of the rows, summed. */
    static double klSum(INDArray p, INDArray q) {
        INDArray lnP = Transforms.log(Transforms.max(p, FLOOR, true), false);
        INDArray lnQ = Transforms.log(Transforms.max(q, FLOOR, true), false);
        return p.mul(lnP.sub(lnQ)).sumNumber().doubleValue();
    }

    private static INDArray centred(INDArray logits) {
        return logits.subColumnVector(logits.mean(true, 1));
    }

    /** The input of the softmax that makes {@code output} ({@code [N, classes]}), or null when none does. */
    private static String logitsOf(ModelGraph graph, String output) {
        String producer = graph.graph().getVariables().get(output).getOutputOfOp();
        if (producer == null) {
            return null;
        }
        SameDiffOp op = graph.graph().getOps().get(producer);
        return op.getOp().opName().equals("softmax") ? op.getInputsToOp().get(0) : null;
    }
}
