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
 * How far a quantized network's predictions lie from the fp32 network's, on given batches: the measure by which the
 * per-point granularity checks its choices against per-channel scales everywhere.
 *
 * <p>For an output made by a softmax, the mean Kullback-Leibler divergence of the quantized predictions {@code q} from
 * the fp32 ones {@code p}, per example: {@code KL(p || q) = sum_k p_k (ln p_k - ln q_k)} (in nats; a term with
 * {@code p_k = 0} counts 0, {@code q_k} is taken at least {@code 1e-30}). It weighs an error by the probability it
 * moves, as a classifier's loss does: an error on the logits of unlikely classes, or one common to every logit of an
 * example, costs little. For any other output, the noise-to-signal ratio {@code sum (y~ - y)^2 / sum y^2}. The
 * outputs' measures are summed.
 */
final class OutputDivergence {

    private static final double FLOOR = 1e-30;

    private OutputDivergence() {
    }

    static double of(ModelGraph fp32, ModelGraph quantized, List<INDArray[]> batches) {
        int outputs = fp32.outputs().size();
        double[] divergence = new double[outputs];
        double[] noise = new double[outputs];
        double[] signal = new double[outputs];
        long examples = 0;
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> feed = QuantizedModel.feed(fp32.inputs(), batches.get(b),
                    "calibration batch " + b + ": features");
            Map<String, INDArray> reference = GraphExecution.output(fp32.graph(), feed, fp32.outputs());
            Map<String, INDArray> actual = GraphExecution.output(quantized.graph(), feed, fp32.outputs());
            for (int i = 0; i < outputs; i++) {
                String output = fp32.outputs().get(i);
                INDArray p = reference.get(output).castTo(DataType.DOUBLE);
                INDArray q = actual.get(output).castTo(DataType.DOUBLE);
                if (isSoftmax(fp32, output)) {
                    divergence[i] += klSum(p, q);
                } else {
                    INDArray e = q.sub(p);
                    noise[i] += e.mul(e).sumNumber().doubleValue();
                    signal[i] += p.mul(p).sumNumber().doubleValue();
                }
            }
            examples += batches.get(b)[0].size(0);
        }
        double total = 0;
        for (int i = 0; i < outputs; i++) {
            total += isSoftmax(fp32, fp32.outputs().get(i)) ? divergence[i] / Math.max(1, examples)
                    : noise[i] == 0 ? 0 : noise[i] / signal[i];
        }
        return total;
    }

    /** {@code sum over examples and classes of p (ln p - ln q)}: the KL divergences of the rows, summed. */
    static double klSum(INDArray p, INDArray q) {
        INDArray lnP = Transforms.log(Transforms.max(p, FLOOR, true), false);
        INDArray lnQ = Transforms.log(Transforms.max(q, FLOOR, true), false);
        return p.mul(lnP.sub(lnQ)).sumNumber().doubleValue();
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
