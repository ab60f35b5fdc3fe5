package org.quant4j.runtime;

import java.util.List;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.QuantGrid;

/**
 * A quantization point's four ops ({@code <t>:scaled = t / s}, rint, {@code <t>:q = clip(., qmin, qmax)},
 * {@code <t>:fq = <t>:q * s}; with zero points six: {@code + z} before the clip, {@code - z} after it), seen at its div, when no kernel already wrote its levels: one quantize step
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
            Value levels = plan.newLevels(t, type, raw.shape(), q.scales(), q.zeroPoints());
            plan.addPrimitive(new QuantizeToNhwcStep("quantize " + t + " (NCHW, then NHWC levels)", raw, levels,
                    q.scales(), q.zeroPoints(), q.grid()));
            return true;
        }
        Value x = plan.require(t, Value.Kind.F32);
        if (x == null) {
            return false;
        }
        plan.absorb(chain);
        Value levels = plan.newLevels(t, type, x.shape(), q.scales(), q.zeroPoints());
        plan.addPrimitive(new LevelConversionStep("quantize " + t,
                LevelConversion.quantize(x.elements(), q.scales(), q.zeroPoints(), q.grid()), x, levels));
        return true;
    }

    /**
     * The ops of point {@code t}, or null: {@code :scaled} div, rint, {@code :q} clip, {@code :fq} mul; with zero
     * points also the {@code :shifted} add of {@code :zp} before the clip and the {@code :centred} sub of
     * {@code :zp} after it.
     */
    static List<SameDiffOp> chain(String t, PlanBuilder plan) {
        TensorQuantization q = plan.activation(t);
        if (q == null) {
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
        List<SameDiffOp> ops = new java.util.ArrayList<>(List.of(div, rint));
        String rounded = rint.getOutputsOfOp().get(0);
        String zeroPoint = PointNames.zeroPoint(t);
        if (q.hasZeroPoints()) {
            SameDiffOp add = graph.onlyReader(rounded);
            if (add == null || !(add.getOp() instanceof AddOp)
                    || !add.getInputsToOp().equals(List.of(rounded, zeroPoint))
                    || !add.getOutputsOfOp().get(0).equals(PointNames.shifted(t))) {
                return null;
            }
            ops.add(add);
            rounded = PointNames.shifted(t);
        }
        SameDiffOp clip = graph.onlyReader(rounded);
        if (clip == null || !(clip.getOp() instanceof ClipByValue)
                || !clip.getOutputsOfOp().get(0).equals(PointNames.levels(t))) {
            return null;
        }
        ops.add(clip);
        String levels = PointNames.levels(t);
        if (q.hasZeroPoints()) {
            SameDiffOp sub = graph.onlyReader(levels);
            if (sub == null || !(sub.getOp() instanceof SubOp)
                    || !sub.getInputsToOp().equals(List.of(levels, zeroPoint))
                    || !sub.getOutputsOfOp().get(0).equals(PointNames.centred(t))) {
                return null;
            }
            ops.add(sub);
            levels = PointNames.centred(t);
        }
        SameDiffOp mul = graph.onlyReader(levels);
        if (mul == null || !(mul.getOp() instanceof MulOp)
                || !mul.getOutputsOfOp().get(0).equals(PointNames.fakeQuant(t))
                || !mul.getInputsToOp().equals(List.of(levels, PointNames.scale(t)))) {
            return null;
        }
        ops.add(mul);
        return List.copyOf(ops);
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
