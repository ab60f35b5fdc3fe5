package org.quant4j.runtime;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.Permute;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The layout changes of channels-last networks (the converter holds their image batches channels-first and permutes
 * only at the edges), which the plan, holding rank-4 values NHWC, needs no reorder for:
 * <ul>
 * <li>{@code permute(0, 3, 1, 2)} of an array (an NHWC network input): the result, [N, C, H, W], held NHWC is the
 * array's own memory in C order: one copy into an f32 buffer;</li>
 * <li>{@code permute(0, 2, 3, 1)} of an f32 (or dequantized) rank-4 value (an NHWC network output): the result,
 * [N, H, W, C] in C order, is the NHWC buffer itself: one copy into an array.</li>
 * </ul>
 */
final class ChannelsLastLowering implements OpLowering {

    private static final long[] TO_CHANNELS_FIRST = {0, 3, 1, 2};
    private static final long[] TO_CHANNELS_LAST = {0, 2, 3, 1};

    @Override
    public boolean takes(SameDiffOp op, PlanBuilder plan) {
        if (!(op.getOp() instanceof Permute) || op.getInputsToOp().size() != 1) {
            return false;
        }
        long[] axes = ((Permute) op.getOp()).iArgs();
        return Arrays.equals(axes, TO_CHANNELS_FIRST) || Arrays.equals(axes, TO_CHANNELS_LAST);
    }

    @Override
    public boolean lower(SameDiffOp op, PlanBuilder plan) {
        Value x = plan.value(op.getInputsToOp().get(0));
        String out = op.getOutputsOfOp().get(0);
        long[] shape = plan.shape(out);
        if (x == null || shape == null || shape.length != 4 || x.shape() == null || x.rank() != 4) {
            return false;
        }
        if (Arrays.equals(((Permute) op.getOp()).iArgs(), TO_CHANNELS_FIRST)) {
            if (x.kind() != Value.Kind.ND4J) {
                return false;
            }
            Value f32 = plan.newValue(out, Value.Kind.F32, ElementType.F32, shape, null);
            plan.addPrimitive(new ToBuffer(x, f32));
            return true;
        }
        Value nhwc = plan.require(x.name(), Value.Kind.F32);
        if (nhwc == null) {
            return false;
        }
        Value array = plan.newValue(out, Value.Kind.ND4J, ElementType.F32, shape, null);
        plan.addPrimitive(new ToArray(nhwc, array));
        return true;
    }

    /** An NHWC array as the NHWC buffer of its channels-first permutation: its memory copied. */
    private static final class ToBuffer extends PlanStep {

        private final Value src;
        private final Value dst;

        ToBuffer(Value src, Value dst) {
            super("convert " + src + " (NHWC) to " + dst.kind() + " " + Arrays.toString(dst.shape()), src.slot());
            this.src = src;
            this.dst = dst;
        }

        @Override
        void run(Object[] s, PlanBuffers buffers) {
            INDArray a = (INDArray) s[src.slot()];
            INDArray source = Layouts.denseFloat(a);
            FloatPointer buffer = buffers.takeFloats(a.length());
            Pointer.memcpy(buffer, Layouts.hostPointer(source), a.length() * Float.BYTES);
            s[dst.slot()] = buffer;
        }
    }

    /** An NHWC buffer as the array [N, H, W, C] (C order) of its channels-last permutation. */
    private static final class ToArray extends PlanStep {

        private final Value src;
        private final Value dst;

        ToArray(Value src, Value dst) {
            super("convert " + src + " to " + dst.kind() + " " + Arrays.toString(dst.shape()) + " (NHWC)",
                    src.slot());
            this.src = src;
            this.dst = dst;
        }

        @Override
        int[] madeArrays() {
            return new int[] {dst.slot()};
        }

        @Override
        void run(Object[] s, PlanBuffers buffers) {
            float[] values = new float[(int) src.elements()];
            new FloatPointer((Pointer) s[src.slot()]).get(values);
            s[dst.slot()] = Nd4j.create(values, dst.shape(), 'c');
        }
    }
}
