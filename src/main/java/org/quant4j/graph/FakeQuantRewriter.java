package org.quant4j.graph;

import java.util.List;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.QuantizationException;
import org.quant4j.nd4j.NativeArrays;

/**
 * Rewrites an fp32 graph into its fake-quant (simulated integer) form, in place, using only standard SameDiff ops,
 * so that the result runs on any ND4J backend and saves as an ordinary SameDiff file.
 *
 * <p>For an activation {@code x} with per-channel scales {@code s} (broadcast along the channel axis):
 * <pre>  x_q = clip(rint(x / s), qmin, qmax) * s</pre>
 * inserted before the ops that consume {@code x} as their data input; other readers of {@code x} keep reading fp32.
 * With zero points {@code z} (the asymmetric grid, {@link TensorQuantization#zeroPoints}):
 * <pre>  x_q = (clip(rint(x / s) + z, 0, 2^M - 1) - z) * s</pre>
 * ({@code z} an integer held in float: the sum and difference are exact), ONNX's QuantizeLinear and
 * DequantizeLinear with a zero point.
 *
 * <p>For a weight {@code W}: the scales {@code s_x} of the activation it multiplies are folded in,
 * {@code W' = W * s_x} (per input channel), the integers {@code q = clamp(rint(W' / s), qmin, qmax)} are computed
 * once, stored as an INT8 constant (INT16 above 8 bits) named {@code <W>:q}, and dequantized in the graph as
 * {@code cast(q) * s / s_x}; the fp32 weight is removed from the graph. The op then computes
 * {@code sum_c (q_x[c] s_x[c]) (q[o, c] s[o] / s_x[c]) = s[o] sum_c q_x[c] q[o, c]}: what an integer kernel computes
 * from the integer levels of both, up to float rounding. The matrix products reading a weight quantized on its own
 * (a recurrent weight) get their data operand quantized per call ({@link DynamicInputs}).
 */
public final class FakeQuantRewriter {

    private FakeQuantRewriter() {
    }

    /** Applies every quantization to {@code sd}. */
    public static void rewrite(SameDiff sd, List<TensorQuantization> quantizations) {
        for (TensorQuantization t : quantizations) {
            if (t.kind() == TensorQuantization.Kind.WEIGHT) {
                rewriteWeight(sd, t);
            } else {
                rewriteActivation(sd, t);
            }
        }
        OpNames.makeDistinct(sd);
    }

    /**
     * The graph to run: a copy of the fake-quant graph {@code sd} in which every weight's dequantization
     * ({@code cast(q) * s / s_x}, variable {@code <W>:dqi}, or {@code <W>:dq} without input scales) has been computed
     * once, by the graph's own ops, and stored as an fp32 constant of the same name; the INT8 constants and the ops
     * that dequantized them per call are gone. Its outputs are bit-identical to {@code sd}'s (the same ops computed
     * the same values); {@code sd} itself, the form that is saved, is not changed.
     */
    public static SameDiff withDequantizedWeights(SameDiff sd) {
        List<String> names = DequantizedGraph.dequantizedWeights(sd);
        // dup(), not GraphCopy: this runs while a model serves, and GraphCopy briefly changes the graph it copies.
        SameDiff copy = ArraysOnce.keep(sd.dup());
        if (names.isEmpty()) {
            return copy;
        }
        java.util.Map<String, INDArray> values = GraphExecution.output(sd, java.util.Map.of(), names);
        for (String name : names) {
            GraphEditing.replaceWithConstant(copy, name, values.get(name));
        }
        return copy;
    }

    private static void rewriteActivation(SameDiff sd, TensorQuantization t) {
        SDVariable x = sd.getVariable(t.tensor());
        SDVariable scale = sd.constant(PointNames.scale(t.tensor()), scaleArray(t, x.dataType()));
        SDVariable scaled = sd.math.div(PointNames.scaled(t.tensor()), x, scale);
        SDVariable rounded = new Rint(sd, scaled, false).outputVariable();
        SDVariable zeroPoint = t.hasZeroPoints()
                ? sd.constant(PointNames.zeroPoint(t.tensor()), zeroPointArray(t, x.dataType())) : null;
        if (zeroPoint != null) {
            rounded = sd.math.add(PointNames.shifted(t.tensor()), rounded, zeroPoint);
        }
        SDVariable clipped = sd.math.clipByValue(PointNames.levels(t.tensor()), rounded, t.grid().qmin(),
                t.grid().qmax());
        if (zeroPoint != null) {
            clipped = sd.math.sub(PointNames.centred(t.tensor()), clipped, zeroPoint);
        }
        SDVariable dequantized = sd.math.mul(PointNames.fakeQuant(t.tensor()), clipped, scale);
        replaceInput(sd, t.tensor(), dequantized, t.consumers());
    }

    private static void rewriteWeight(SameDiff sd, TensorQuantization t) {
        SDVariable w = sd.getVariable(t.tensor());
        INDArray values = w.getArr();
        if (values == null) {
            throw new QuantizationException("weight '" + t.tensor() + "' has no value in the graph");
        }
        DataType intType = t.grid().bits() <= 8 ? DataType.INT8 : DataType.INT16;
        INDArray q = foldedLevels(values, t, intType); // no weight-sized temporary
        SDVariable stored = sd.constant(PointNames.levels(t.tensor()), q);
        SDVariable scale = sd.constant(PointNames.scale(t.tensor()), scaleArray(t, values.dataType()));
        SDVariable dequantized = sd.math.mul(PointNames.dequantized(t.tensor()), stored.castTo(values.dataType()),
                scale);
        if (t.inputAxis() >= 0) {
            SDVariable inputScale = sd.constant(PointNames.inputScale(t.tensor()),
                    Nd4j.create(t.inputScales(), t.inputScaleShape(), 'c').castTo(values.dataType()));
            dequantized = sd.math.div(PointNames.dequantizedUnfolded(t.tensor()), dequantized, inputScale);
        }
        replaceInput(sd, t.tensor(), dequantized, t.consumers());
        if (DynamicInputs.appliesTo(sd, t)) {
            DynamicInputs.quantizeInputs(sd, t.consumers());
        }
        if (sd.getVariables().get(t.tensor()).getInputsForOp() == null
                || sd.getVariables().get(t.tensor()).getInputsForOp().isEmpty()) {
            GraphEditing.removeConstant(sd, t.tensor());
        }
    }

    /**
     * The weights with the scales of the activations they multiply folded in, {@code W'[o, c] = W[o, c] * s_x[c]}
     * along {@code t.inputAxis()}, so that integer kernels can take the activations' integer levels directly. The
     * weights themselves when there is nothing to fold.
     */
    public static INDArray foldInputScales(INDArray values, TensorQuantization t) {
        if (t.inputAxis() < 0) {
            return values;
        }
        INDArray scales = Nd4j.create(t.inputScales(), t.inputScaleShape(), 'c').castTo(values.dataType());
        return values.mul(scales);
    }

    /**
     * An activation's values as its fake-quant ops make them, {@code clip(rint(x / s), qmin, qmax) * s} (with zero
     * points {@code (clip(rint(x / s) + z, qmin, qmax) - z) * s}) with the scales broadcast along {@code t}'s axis:
     * the same ND4J ops in the same order as the rewritten graph, so the values are the graph's.
     */
    public static INDArray fakeQuantized(INDArray x, TensorQuantization t) {
        if (t.kind() != TensorQuantization.Kind.ACTIVATION) {
            throw new IllegalArgumentException("'" + t.tensor() + "' is a " + t.kind() + ", not an activation");
        }
        INDArray scale = scaleArray(t, x.dataType());
        INDArray zeroPoint = t.hasZeroPoints() ? zeroPointArray(t, x.dataType()) : null;
        // One array of x's size, each step computed into it in place (elementwise: the same values as the graph's
        // ops, which each make a new array).
        INDArray out = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
        Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp(x, scale, out));
        Nd4j.exec(new Rint(out, out));
        if (zeroPoint != null) {
            Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp(out, zeroPoint, out));
        }
        var clip = new org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue(out, t.grid().qmin(),
                t.grid().qmax());
        clip.addOutputArgument(out);
        Nd4j.exec(clip);
        if (zeroPoint != null) {
            Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp(out, zeroPoint, out));
        }
        Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp(out, scale, out));
        return out;
    }

    /**
     * The integer levels of the weights, {@code clamp(rint(w / s_c), qmin, qmax)}, as float values (computed in
     * float, as the fake-quant graph computes activations).
     */
    public static INDArray quantizeWeights(INDArray values, TensorQuantization t) {
        return levels(values, t, false, DataType.FLOAT);
    }

    /**
     * The integer levels of the weights with the input scales folded in, {@code quantizeWeights(foldInputScales(W))}
     * to the bit (each product rounded to float, as ND4J's broadcast product rounds it), in {@code type}, made one
     * block at a time: no weight-sized temporary besides the result (the fold and the float levels were two, 2 x 411
     * MB on VGG16's first dense layer).
     */
    public static INDArray foldedLevels(INDArray values, TensorQuantization t, DataType type) {
        return levels(values, t, t.inputAxis() >= 0, type);
    }

    private static INDArray levels(INDArray values, TensorQuantization t, boolean fold, DataType type) {
        long[] shape = values.shape();
        long stride = 1;
        for (int d = shape.length - 1; d > t.axis() && t.axis() >= 0; d--) {
            stride *= shape[d];
        }
        long channels = t.perTensor() ? 1 : shape[t.axis()];
        long inputStride = 1;
        for (int d = shape.length - 1; fold && d > t.inputAxis(); d--) {
            inputStride *= shape[d];
        }
        long inputChannels = fold ? shape[t.inputAxis()] : 1;
        float[] inputScales = fold ? t.inputScales() : null;
        int qmin = t.grid().qmin();
        int qmax = t.grid().qmax();
        long n = values.length();
        INDArray flat = values.reshape('c', new long[] {n}); // a view of a C-order array, else a copy
        INDArray result = Nd4j.createUninitialized(type, shape, 'c');
        INDArray out = result.reshape('c', new long[] {n});
        // A block at a time: the heap and the native copies stay near BLOCK_ELEMENTS whatever the weight's size
        // (a whole-weight float[] was 411 MB of heap for VGG16's first dense layer). The arithmetic is unchanged.
        for (long from = 0; from < n; from += WEIGHT_BLOCK) {
            long to = Math.min(n, from + WEIGHT_BLOCK);
            INDArray part = flat.get(NDArrayIndex.interval(from, to)).dup('c');
            float[] w = part.data().asFloat();
            NativeArrays.release(part, values);
            for (int i = 0; i < w.length; i++) {
                int c = t.perTensor() ? 0 : (int) (((from + i) / stride) % channels);
                float v = fold ? w[i] * inputScales[(int) (((from + i) / inputStride) % inputChannels)] : w[i];
                float level = (float) Math.rint(v / t.scales()[c]);
                w[i] = Math.max(qmin, Math.min(qmax, level));
            }
            INDArray levels = Nd4j.createFromArray(w);
            out.get(NDArrayIndex.interval(from, to)).assign(levels);
            NativeArrays.release(levels);
        }
        NativeArrays.release(flat, values);
        return result;
    }

    /** Weight values quantized at a time by {@link #quantizeWeights} (16 MB of floats). */
    static final long WEIGHT_BLOCK = 1L << 22;

    /**
     * The weights as the fake-quant op sees them, in the original units: {@code q * s / s_x}, computed in float as
     * the graph computes them.
     */
    public static INDArray dequantizedWeights(INDArray values, TensorQuantization t) {
        // One weight-sized array, scaled in place: for a large dense layer (VGG's 25088 x 4096) each is 411 MB.
        INDArray dq = foldedLevels(values, t, values.dataType());
        dq.muli(scaleArray(t, values.dataType()));
        if (t.inputAxis() >= 0) {
            dq.divi(Nd4j.create(t.inputScales(), t.inputScaleShape(), 'c').castTo(values.dataType()));
        }
        return dq;
    }

    private static INDArray scaleArray(TensorQuantization t, DataType type) {
        return Nd4j.create(t.scales(), t.scaleShape(), 'c').castTo(type);
    }

    /** The zero points as a constant of the scales' shape, in the activation's type (exact: small integers). */
    private static INDArray zeroPointArray(TensorQuantization t, DataType type) {
        float[] z = new float[t.zeroPoints().length];
        for (int c = 0; c < z.length; c++) {
            z[c] = t.zeroPoints()[c];
        }
        return Nd4j.create(z, t.scaleShape(), 'c').castTo(type);
    }

    /** Makes each listed op read {@code replacement} wherever it read {@code original}. */
    private static void replaceInput(SameDiff sd, String original, SDVariable replacement, List<String> consumers) {
        for (String opName : consumers) {
            SameDiffOp sdo = sd.getOps().get(opName);
            if (sdo == null) {
                throw new QuantizationException("op '" + opName + "' reading '" + original + "' is not in the graph");
            }
            DifferentialFunction op = sdo.getOp();
            List<String> inputs = sdo.getInputsToOp();
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i).equals(original)) {
                    sd.replaceArgFor(i, replacement, op);
                }
            }
        }
    }
}
