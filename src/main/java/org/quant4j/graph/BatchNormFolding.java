package org.quant4j.graph;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.nd4j.NativeArrays;
import org.nd4j.linalg.api.ops.impl.layers.convolution.BatchNorm;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Folds an inference BatchNorm into the convolution before it, as integer execution needs (and as every PTQ tool
 * does): for {@code y = gamma * (conv(x, W) + b - mean) / sqrt(var + eps) + beta}, with
 * {@code k[o] = gamma[o] / sqrt(var[o] + eps)}:
 * <pre>  W'[o, ...] = k[o] * W[o, ...]      b'[o] = k[o] * (b[o] - mean[o]) + beta[o]</pre>
 * The BatchNorm op is removed and its readers read the convolution's result. Folded when the convolution (NCHW;
 * OIYX weights, or a depthwise convolution's [kH, kW, C, M] whose output channel {@code c M + m} scales column
 * {@code c M + m}) feeds the BatchNorm directly or through identities, and nothing else reads it. A convolution
 * without bias gets one.
 */
public final class BatchNormFolding {

    private BatchNormFolding() {
    }

    /**
     * A folded BatchNorm's shift and scale per channel: the folded convolution's output channel c has mean
     * {@code beta[c]} and standard deviation {@code |gamma[c]|} on the data the BatchNorm's statistics describe.
     */
    public record Folded(double[] beta, double[] gamma) {
    }

    /** Folds every foldable BatchNorm of {@code g}'s graph in place; returns {@code g} without the folded layers. */
    public static ModelGraph fold(ModelGraph g) {
        return fold(g, new java.util.HashMap<>());
    }

    /**
     * {@link #fold(ModelGraph)}, recording each folded BatchNorm's {@code beta} and {@code gamma} in {@code folded}
     * under the convolution's output variable (for {@link HighBiasAbsorption}).
     */
    public static ModelGraph fold(ModelGraph g, java.util.Map<String, Folded> folded) {
        SameDiff sd = g.graph();
        List<String> removed = new ArrayList<>();
        for (SameDiffOp bnOp : new ArrayList<>(sd.getOps().values())) {
            if (!(bnOp.getOp() instanceof BatchNorm bn) || !bn.isApplyGamma() || !bn.isApplyBeta()) {
                continue;
            }
            List<String> in = bnOp.getInputsToOp();
            String bnOut = bnOp.getOutputsOfOp().get(0);
            if (g.outputs().contains(bnOut)) {
                continue;
            }
            SameDiffOp convOp = producerThroughIdentities(sd, in.get(0));
            if (convOp == null || ConvolutionArgs.nhwc(convOp.getOp())) {
                continue;
            }
            boolean depthwise = convOp.getOp() instanceof DepthwiseConv2D;
            if (!depthwise && !(convOp.getOp() instanceof Conv2D conv
                    && ConvolutionArgs.weightsFormat(conv) == org.nd4j.enums.WeightsFormat.OIYX)) {
                continue;
            }
            INDArray w = sd.getVariable(convOp.getInputsToOp().get(1)).getArr();
            INDArray mean = sd.getVariable(in.get(1)).getArr().castTo(DataType.DOUBLE);
            INDArray var = sd.getVariable(in.get(2)).getArr().castTo(DataType.DOUBLE);
            INDArray gamma = sd.getVariable(in.get(3)).getArr().castTo(DataType.DOUBLE);
            INDArray beta = sd.getVariable(in.get(4)).getArr().castTo(DataType.DOUBLE);
            INDArray k = gamma.div(Transforms.sqrt(var.add(bn.getEpsilon()), false));
            long out = k.length();
            INDArray b = GraphEditing.biasOf(sd, convOp, out, w.dataType()); // the shift needs a bias
            // OIYX: output channel o is row o of [O, I*kH*kW]; depthwise [kH, kW, C, M]: column c*M + m of
            // [kH*kW, C*M].
            INDArray wd = w.castTo(DataType.DOUBLE);
            INDArray w2 = depthwise
                    ? wd.reshape('c', w.size(0) * w.size(1), out).mulRowVector(k.reshape(1, out))
                    : wd.reshape('c', out, -1).mulColumnVector(k.reshape(out, 1));
            INDArray b2 = b.castTo(DataType.DOUBLE).reshape(out).sub(mean).mul(k).add(beta).castTo(b.dataType())
                    .reshape(b.shape());
            folded.put(convOp.getOutputsOfOp().get(0), new Folded(beta.dup().data().asDouble(),
                    gamma.dup().data().asDouble()));
            INDArray w3 = w2.reshape('c', w.shape()).castTo(w.dataType());
            w.assign(w3);
            b.assign(b2);
            // Weight-sized temporaries (five times the weights, in doubles): freed now, not when the collector runs.
            NativeArrays.release(w3, w);
            NativeArrays.release(w2, w);
            NativeArrays.release(wd, w);
            // Readers of the BatchNorm's output now read its input.
            SDVariable replacement = sd.getVariable(in.get(0));
            for (String reader : new ArrayList<>(sd.getVariables().get(bnOut).getInputsForOp())) {
                SameDiffOp op = sd.getOps().get(reader);
                List<String> args = op.getInputsToOp();
                for (int i = 0; i < args.size(); i++) {
                    if (args.get(i).equals(bnOut)) {
                        sd.replaceArgFor(i, replacement, op.getOp());
                    }
                }
            }
            sd.getOps().remove(bnOp.getName());
            sd.getVariables().remove(bnOut);
            for (String input : in) {
                Variable v = sd.getVariables().get(input);
                v.getInputsForOp().remove(bnOp.getName());
                if (!input.equals(in.get(0)) && v.getInputsForOp().isEmpty()) {
                    GraphEditing.removeConstant(sd, input);
                }
            }
            removed.add(bnOut);
        }
        List<ModelGraph.LayerOutput> layers = g.layerOutputs().stream()
                .filter(l -> !removed.contains(l.variable())).toList();
        return new ModelGraph(sd, g.inputs(), g.outputs(), layers, g.kernelTaps());
    }

    /** The op producing {@code tensor}, looking through identity ops that have a single reader each. */
    private static SameDiffOp producerThroughIdentities(SameDiff sd, String tensor) {
        while (true) {
            Variable v = sd.getVariables().get(tensor);
            if (v == null || v.getOutputOfOp() == null || v.getInputsForOp() == null || v.getInputsForOp().size() != 1) {
                return null;
            }
            SameDiffOp op = sd.getOps().get(v.getOutputOfOp());
            if (!(op.getOp() instanceof Identity)) {
                return op;
            }
            tensor = op.getInputsToOp().get(0);
        }
    }
}
