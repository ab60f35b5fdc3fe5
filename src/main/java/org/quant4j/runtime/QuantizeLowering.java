package org.quant4j.runtime;

import java.util.List;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.QuantGrid;

/**
 * A quantization point's four ops ({@code <t>:scaled = t / s}, rint, {@code <t>:q = clip(., qmin, qmax)},
 * {@code <t>:fq = <t>:q * s}), seen at its div, when no kernel already wrote its levels: one quantize step
 * {@code q = clamp(rint(x / s_c), qmin, qmax)} into u8/s8 levels ({@link LevelConversion}: an IEEE division, as the
 * graph; a reorder would multiply by {@code 1 / s_c}, which differs at ties). Readers of {@code <t>:fq} that need
 * f32 get {@code q * s_c} from a dequantize step ({@link PlanBuilder#require}), exactly the graph's value. A point on
 * an NCHW array (a network input, an island's output) with no f32 NHWC copy is quantized before it is transposed
 * ({@link QuantizeToNhwcStep}).
 */
final class QuantizeLowering implements OpLowering {

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        return op.getOp() instanceof DivOp;
    }

    @Override
    public boolean lower(SameDiffOp div, PlanBuilder plan) {
        String scaled = div.getOutputsOfOp().get(0);
        if (!PointNames.isScaled(scaled)) {
            return false;
        }
        String t = PointNames.tensorOf(scaled);
        List<SameDiffOp> chain = chain(t, plan);
        TensorQuantization q = plan.activation(t);
        if (chain == null || !levelsSupported(q, plan.shape(t))) {
            return false;
        }
        ElementType type = levelType(q);
        Value raw = plan.value(t);
        if (raw != null && raw.kind() == Value.Kind.ND4J && raw.shape() != null && raw.rank() == 4
                && !plan.converted(t, Value.Kind.F32)) {
            // an NCHW array: quantized first, then the bytes transposed
            plan.absorb(chain);
            Value levels = plan.newLevels(t, type, raw.shape(), q.scales());
            plan.addPrimitive(new QuantizeToNhwcStep("quantize " + t + " (NCHW, then NHWC levels)", raw, levels,
                    q.scales(), q.grid()));
            return true;
        }
        Value x = plan.require(t, Value.Kind.F32);
        if (x == null) {
            return false;
        }
        plan.absorb(chain);
        Value levels = plan.newLevels(t, type, x.shape(), q.scales());
        plan.addPrimitive(new LevelConversionStep("quantize " + t,
                LevelConversion.quantize(x.elements(), q.scales(), q.grid()), x, levels));
        return true;
    }

    /** The four ops of point {@code t} ({@code :scaled} div, rint, {@code :q} clip, {@code :fq} mul), or null. */
    static List<SameDiffOp> chain(String t, PlanBuilder plan) {
        if (plan.activation(t) == null) {
            return null;
        }
        PlanGraph graph = plan.graph();
        SameDiffOp div = graph.producer(PointNames.scaled(t));
        if (div == null || !(div.getOp() instanceof DivOp)
                || !div.getInputsToOp().equals(List.of(t, PointNames.scale(t)))) {
            return null;
        }
        SameDiffOp rint = graph.onlyReader(PointNames.scaled(t));
        if (rint == null || !(rint.getOp() instanceof Rint)) {
            return null;
        }
        SameDiffOp clip = graph.onlyReader(rint.getOutputsOfOp().get(0));
        if (clip == null || !(clip.getOp() instanceof ClipByValue)
                || !clip.getOutputsOfOp().get(0).equals(PointNames.levels(t))) {
            return null;
        }
        SameDiffOp mul = graph.onlyReader(PointNames.levels(t));
        if (mul == null || !(mul.getOp() instanceof MulOp)
                || !mul.getOutputsOfOp().get(0).equals(PointNames.fakeQuant(t))
                || !mul.getInputsToOp().equals(List.of(PointNames.levels(t), PointNames.scale(t)))) {
            return null;
        }
        return List.of(div, rint, clip, mul);
    }

    /** U8 for an unsigned grid, S8 for a signed one; refused above 8 bits. */
    static ElementType levelType(TensorQuantization t) {
        QuantGrid grid = t.grid();
        if (grid.bits() > 8) {
            throw new Int8Network.UnsupportedInt8Exception("'" + t.tensor() + "' has " + grid.bits()
                    + "-bit levels, which do not fit 8-bit kernels");
        }
        return grid.signed() ? ElementType.S8 : ElementType.U8;
    }

    /** Whether integer levels of {@code t} can be held: per tensor, or per channel along axis 1 of rank 2 or 4. */
    static boolean levelsSupported(TensorQuantization t, long[] shape) {
        return shape != null && (shape.length == 4 || shape.length == 2) && (t.perTensor() || t.axis() == 1);
    }
}
