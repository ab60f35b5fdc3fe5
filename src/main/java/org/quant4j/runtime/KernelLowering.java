package org.quant4j.runtime;

import java.util.List;
import java.util.function.BiConsumer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;

/**
 * What the int8 kernel families share: a quantized op (its weights {@code <W>:q} in the graph) reading the levels
 * of a quantization point runs as one int8 oneDNN kernel, with bias in accumulator units ({@code b[o] / s_w[o]}) and
 * ReLU fused, writing the levels of the next point directly (output scale {@code s_w[o] / s_y[o]}) when its result
 * flows only through identity and ReLU into that point, else f32 ({@code s_w[o] * acc + b[o]}; see
 * {@link KernelRoute}). A family says which ops and operand layouts it takes and makes the kernel.
 */
abstract class KernelLowering implements OpLowering {

    /**
     * What a kernel is made from.
     *
     * @param op           the graph op
     * @param x            the levels it reads
     * @param weights      the weights' integer levels, as the graph holds them
     * @param outShape     the result's shape (NCHW for rank 4)
     * @param dstType      U8/S8 when it writes levels, else F32
     * @param bias         the bias in accumulator units ({@code b[o] / s_w[o]}), or null
     * @param outputScales per output channel, {@code s_w[o] / s_y[o]} (or {@code s_w[o]} for f32)
     * @param sum          whether it adds into its destination (a fused residual add)
     * @param relu         whether a ReLU is fused
     * @param clip         {@code {qmin, qmax}} of the levels it writes where their grid is narrower than the
     *                     destination type's range, else null
     */
    record Spec(SameDiffOp op, Value x, INDArray weights, long[] outShape, ElementType dstType, float[] bias,
            float[] outputScales, boolean sum, boolean relu, int[] clip) {
    }

    /**
     * A kernel made.
     *
     * @param kernel   what closing its step closes
     * @param dstBytes its result's size
     * @param execute  (source, destination)
     * @param macs     its multiply-accumulates per call
     */
    record Made(AutoCloseable kernel, long dstBytes, BiConsumer<Pointer, Pointer> execute, long macs) {
    }

    /** Whether the family takes this op reading levels {@code x} (its type and the layout of {@code x}). */
    abstract boolean takesKernel(SameDiffOp op, Value x);

    /** Whether a residual add after the op may be fused (oneDNN's sum post-op). */
    abstract boolean fusesResidual();

    /** Output channels per weight scale (the depth multiplier of a depthwise convolution, else 1). */
    long outputsPerWeightScale(SameDiffOp op, Value x, long outChannels) {
        return 1;
    }

    /** The kernel, or null when the op does not fit it after all (nothing planned). */
    abstract Made make(Spec spec);

    /**
     * The bias in accumulator units with the source's zero points compensated:
     * {@code b'[o] = b[o] - sum_{c, k} z_c W'[o, c, k]}, since the kernel sums {@code q W'} over levels
     * {@code q = x / s + z}, and {@code sum (q - z) W' = sum q W' - sum z W'}. Exact (in integers, rounded once to
     * float) wherever every tap reads a real level: a dense layer, and a convolution without padding; a padded
     * convolution's border taps read the padding, 0, which stands for {@code -z s}, not 0, so there the compensation
     * would be wrong (oneDNN's source zero point pads with the zero point instead, {@link Int8Conv2d}).
     * Per-channel zero points and per-channel activation scales (folded into {@code W'}) both fold in.
     *
     * @param bias        the bias in accumulator units, or null (none)
     * @param weights     O x (C/G) x K signed levels, output-major (oneDNN's oihw or goihw, or [O, F])
     * @param out         O
     * @param groups      G (1 but for a depthwise convolution)
     * @param inPerGroup  C/G
     * @param kernel      K, taps per input channel (1 for a dense layer)
     * @param zeroPoint   the zero point of input channel c (0..C-1)
     */
    static float[] compensatedBias(float[] bias, byte[] weights, int out, int groups, int inPerGroup, int kernel,
            java.util.function.IntUnaryOperator zeroPoint) {
        float[] result = new float[out];
        int perGroup = out / groups;
        for (int o = 0; o < out; o++) {
            long sum = 0;
            int first = (o / perGroup) * inPerGroup;
            int base = o * inPerGroup * kernel;
            for (int c = 0; c < inPerGroup; c++) {
                int z = zeroPoint.applyAsInt(first + c);
                if (z == 0) {
                    continue;
                }
                long taps = 0;
                for (int k = 0; k < kernel; k++) {
                    taps += weights[base + c * kernel + k];
                }
                sum += z * taps;
            }
            result[o] = (float) ((bias == null ? 0.0 : bias[o]) - sum);
        }
        return result;
    }

    /** The quantization of the weights a conv/dense op reads ({@code <W>:dqi} or {@code <W>:dq}), or null. */
    static TensorQuantization weightOf(SameDiffOp op, PlanBuilder plan) {
        List<String> in = op.getInputsToOp();
        if (in == null || in.size() < 2) {
            return null;
        }
        String tensor = PointNames.tensorOf(in.get(1));
        if (tensor == null) {
            return null;
        }
        TensorQuantization w = plan.weight(tensor);
        return w != null && plan.sd().hasVariable(PointNames.levels(w.tensor())) ? w : null;
    }

    @Override
    public final boolean takes(SameDiffOp op, PlanBuilder plan) {
        if (weightOf(op, plan) == null) {
            return false;
        }
        Value x = plan.value(op.getInputsToOp().get(0));
        if (x == null || x.kind() != Value.Kind.LEVELS) {
            return false;
        }
        if (x.type() == ElementType.S8 && !Dnnl.exactSignedSources()) {
            return false; // oneDNN would halve the weights (no VNNI): an fp32 island keeps the graph's result
        }
        return takesKernel(op, x);
    }

    @Override
    public final boolean lower(SameDiffOp op, PlanBuilder plan) {
        TensorQuantization w = weightOf(op, plan);
        Value x = plan.value(op.getInputsToOp().get(0));
        INDArray q = plan.sd().getVariable(PointNames.levels(w.tensor())).getArr();
        if (w.grid().bits() > 8) {
            throw new Int8Network.UnsupportedInt8Exception("weights '" + w.tensor() + "' have " + w.grid().bits()
                    + "-bit levels, which do not fit 8-bit kernels");
        }
        if (!Dnnl.exactInt8Products() && q.amaxNumber().intValue() > 63) {
            throw new Int8Network.UnsupportedInt8Exception("weights '" + w.tensor() + "' use 8-bit levels but this"
                    + " CPU has no VNNI: its int8 kernels would saturate (quantize with 7-bit weights)");
        }
        long[] outShape = plan.shape(op.getOutputsOfOp().get(0));
        long outChannels = outShape[1];
        KernelRoute route = KernelRoute.of(op, fusesResidual(), plan);
        Value residual = route.residual() == null ? null : plan.require(route.residual(), Value.Kind.F32);
        if (route.residual() != null && residual == null) {
            route = KernelRoute.of(op, false, plan);
        }
        TensorQuantization point = route.point();
        ElementType dstType = point == null ? ElementType.F32 : QuantizeLowering.levelType(point);
        float[] bias = op.getInputsToOp().size() > 2
                ? WeightLayouts.floats(plan.sd().getVariable(op.getInputsToOp().get(2)).getArr()) : null;
        long perScale = outputsPerWeightScale(op, x, outChannels);
        float[] outputScales = new float[(int) outChannels];
        float[] biasAcc = bias == null ? null : new float[(int) outChannels];
        for (int o = 0; o < outChannels; o++) {
            float sw = w.scales()[w.perTensor() ? 0 : (int) (o / perScale)];
            float sy = point == null ? 1f : point.scales()[point.perTensor() ? 0 : o];
            outputScales[o] = sw / sy;
            if (biasAcc != null) {
                biasAcc[o] = bias[o] / sw;
            }
        }
        int[] clip = null;
        if (point != null) {
            int qmin = point.grid().qmin();
            int qmax = point.grid().qmax();
            boolean full = dstType == ElementType.U8 ? qmin == 0 && qmax == 255 : qmin == -128 && qmax == 127;
            clip = full ? null : new int[] {qmin, qmax};
        }
        Made kernel = make(new Spec(op, x, q, outShape, dstType, biasAcc, outputScales, residual != null,
                route.relu(), clip));
        if (kernel == null) {
            return false;
        }
        plan.absorb(route.through());
        Value out = point != null ? plan.newLevels(route.tensor(), dstType, outShape, point.scales(), new int[0])
                : plan.newValue(route.tensor(), Value.Kind.F32, ElementType.F32, outShape, null);
        String label = op.getOp().opName() + " " + op.getName() + (residual == null ? "" : " + " + residual) + " -> "
                + out;
        plan.addKernel(new KernelStep(label, x, residual, out, kernel.dstBytes(), kernel.execute(), kernel.kernel()),
                kernel.macs(), residual != null);
        return true;
    }
}
