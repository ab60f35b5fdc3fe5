package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.quant4j.graph.TensorQuantization;

/**
 * Where a kernel's result goes.
 *
 * @param tensor   the tensor the kernel's result is
 * @param point    the quantization point whose levels it writes, or null (f32)
 * @param relu     whether a ReLU is fused
 * @param through  the ops absorbed into the kernel
 * @param residual the other term of a residual add fused into the kernel (oneDNN's sum post-op), or null
 */
record KernelRoute(String tensor, TensorQuantization point, boolean relu, List<SameDiffOp> through,
        String residual) {

    KernelRoute(String tensor, TensorQuantization point, boolean relu, List<SameDiffOp> through) {
        this(tensor, point, relu, through, null);
    }

    /**
     * Through identities and at most one ReLU, each tensor read by that op alone, to a quantization point read
     * only by its quantize ops and without zero points: the kernel writes the point's levels. Otherwise, for a convolution whose result
     * only an add of two tensors of one shape reads, and whose other term is already computed, the sum in f32 (the
     * add fused as oneDNN's sum post-op, {@code act(s_w[o] * acc + b[o] + r)}: the same float operations as the
     * unfused add, and a plain ReLU reading the sum alone fused after it): a residual block's last convolution.
     * Otherwise the op's own result in f32 (with a ReLU fused when the result's only reader is a plain ReLU).
     *
     * @param mayAdd whether a residual add may be fused
     */
    static KernelRoute of(SameDiffOp op, boolean mayAdd, PlanBuilder plan) {
        PlanGraph graph = plan.graph();
        String tensor = op.getOutputsOfOp().get(0);
        boolean relu = false;
        List<SameDiffOp> through = new ArrayList<>();
        while (!graph.isOutput(tensor)) {
            TensorQuantization point = plan.activation(tensor);
            // A point with zero points is not written by the kernel (it would need oneDNN's destination zero
            // point, and an inner product has none): the kernel writes f32 and the point's quantize step follows.
            if (point != null && !point.hasZeroPoints() && QuantizeLowering.chain(tensor, plan) != null
                    && graph.readers(tensor).size() == 1
                    && QuantizeLowering.levelsSupported(point, plan.shape(tensor))) {
                through.addAll(QuantizeLowering.chain(tensor, plan));
                return new KernelRoute(tensor, point, relu, through);
            }
            SameDiffOp next = graph.onlyReader(tensor);
            if (next == null) {
                break;
            }
            boolean isRelu = ElementwiseLowering.reluSlope(next) == 0f;
            if (!(next.getOp() instanceof Identity) && !(isRelu && !relu)) {
                break;
            }
            relu |= isRelu;
            through.add(next);
            tensor = next.getOutputsOfOp().get(0);
        }
        String out = op.getOutputsOfOp().get(0);
        SameDiffOp reader = graph.onlyReader(out);
        KernelRoute residual = mayAdd ? residual(out, reader, plan) : null;
        if (residual != null) {
            return residual;
        }
        if (!graph.isOutput(out) && reader != null && ElementwiseLowering.reluSlope(reader) == 0f) {
            return new KernelRoute(reader.getOutputsOfOp().get(0), null, true, List.of(reader));
        }
        return new KernelRoute(out, null, false, List.of());
    }

    /**
     * {@code result}, through identities each read by the next op alone, + an already computed tensor of its shape,
     * through a plain ReLU reading the sum alone; or null.
     */
    private static KernelRoute residual(String result, SameDiffOp reader, PlanBuilder plan) {
        PlanGraph graph = plan.graph();
        String out = result;
        SameDiffOp add = reader;
        List<SameDiffOp> through = new ArrayList<>();
        while (add != null && add.getOp() instanceof Identity && !graph.isOutput(out)) {
            through.add(add);
            out = add.getOutputsOfOp().get(0);
            add = graph.onlyReader(out);
        }
        if (graph.isOutput(out) || add == null || !(add.getOp() instanceof AddOp)
                || add.getInputsToOp().size() != 2 || add.getOutputsOfOp().size() != 1) {
            return null;
        }
        through.add(add);
        List<String> terms = add.getInputsToOp();
        String other = terms.get(0).equals(out) ? terms.get(1) : terms.get(0);
        String sum = add.getOutputsOfOp().get(0);
        Value term = plan.value(other);
        for (SameDiffOp p = graph.producer(other); term == null && p != null && p.getOp() instanceof Identity;
                p = graph.producer(p.getInputsToOp().get(0))) {
            other = p.getInputsToOp().get(0);
            term = plan.value(other);
        }
        long[] shape = plan.shape(out);
        if (other.equals(out) || term == null || shape == null || !Arrays.equals(term.shape(), shape)
                || !Arrays.equals(plan.shape(sum), shape) || term.flattenedFrom() != null) {
            return null;
        }
        SameDiffOp next = graph.onlyReader(sum);
        if (!graph.isOutput(sum) && next != null && ElementwiseLowering.reluSlope(next) == 0f) {
            through.add(next);
            return new KernelRoute(next.getOutputsOfOp().get(0), null, true, through, other);
        }
        return new KernelRoute(sum, null, false, through, other);
    }
}
