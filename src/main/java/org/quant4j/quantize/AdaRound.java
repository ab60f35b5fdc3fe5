package org.quant4j.quantize;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.ConvolutionArgs;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.nd4j.NativeArrays;

/**
 * AdaRound (learned rounding, Nagel et al. 2020) over a fake-quant graph: op after op in graph order, each weight's
 * integer levels {@code <W>:q} are replaced by levels learned to minimize the op's output error on the calibration's
 * held batches ({@link RoundingOptimizer}), its input taken from the quantized graph, where the ops before it already
 * have their learned levels, and its target from the fp32 graph. Each weight's scales are fitted to the same output
 * error ({@link ScaleFit}) before (with rounding to nearest) and after the rounding is learned, so the graph, the int8
 * plan and a saved model hold other integers and other weight scales, nothing else. Runs before bias correction.
 *
 * <p>Taken: {@code conv2d} on NCHW data (any weight layout), {@code depthwise_conv2d} on NCHW data with depth
 * multiplier 1 (each channel its own {@code 1 x kH kW} problem), {@code xw_plus_b} and {@code matmul} on rank-2
 * inputs. Other ops (transposed convolutions, NHWC data) keep rounding to nearest.
 */
final class AdaRound {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AdaRound.class);

    private AdaRound() {
    }

    /**
     * One op's output error per calibration column, {@code ||W~ X~ - W X||^2 / N} summed over output channels, with
     * the weights rounded to nearest and with the learned rounding.
     */
    record Result(String op, double nearest, double learned) {
    }

    /** The output errors per op taken, and the quantizations with the weight scales fitted to the learned levels. */
    record Outcome(List<Result> results, List<TensorQuantization> quantizations) {
    }

    /**
     * Learns the rounding of every weight of {@code ops} in {@code quantized} ({@code iterations} each), with its
     * scales fitted to the output error ({@link ScaleFit}): to rounding to nearest before the rounding is learned, and
     * to the learned levels after; the output errors before and after, per op taken, and the quantizations with the
     * fitted scales (the graph's {@code <W>:scale} constants hold them too).
     */
    static Outcome apply(ObservedNetwork calibration, List<QuantizableOp> ops, List<TensorQuantization> quantizations,
            ModelGraph quantized, int iterations) {
        ModelGraph fp32 = calibration.fp32Graph();
        Set<String> done = new HashSet<>();
        List<Result> results = new java.util.ArrayList<>();
        List<TensorQuantization> fitted = new java.util.ArrayList<>(quantizations);
        for (QuantizableOp op : ops) {
            TensorQuantization t = quantizations.stream().filter(q -> q.kind() == TensorQuantization.Kind.WEIGHT
                    && q.tensor().equals(op.weight())).findFirst().orElse(null);
            Layout layout = Layout.of(fp32.graph(), op);
            if (t == null || layout == null || !done.add(op.weight())
                    || !quantized.graph().hasVariable(PointNames.levels(op.weight()))) {
                continue;
            }
            long start = System.nanoTime();
            Moments moments = moments(calibration, fp32, quantized, op, layout);
            INDArray w = fp32.graph().getVariable(op.weight()).getArr();
            INDArray folded = FakeQuantRewriter.foldInputScales(w, t);
            INDArray scales = Nd4j.create(t.scales(), t.scaleShape(), 'c').castTo(w.dataType());
            INDArray units = layout.toGroups(folded.div(scales));
            INDArray perLevel = Nd4j.ones(w.dataType(), w.shape()).muli(scales);
            if (t.inputAxis() >= 0) {
                perLevel.divi(Nd4j.create(t.inputScales(), t.inputScaleShape(), 'c').castTo(w.dataType()));
            }
            INDArray m = layout.toGroups(perLevel);
            INDArray wg = layout.toGroups(w);
            int groups = (int) units.size(0);
            int rows = (int) units.size(1);
            int k = (int) units.size(2);
            INDArray gramQ = Nd4j.stack(0, moments.gramQ);
            INDArray crossMoment = Nd4j.stack(0, moments.cross);
            INDArray cross = Nd4j.matmul(wg, crossMoment);
            int qmin = t.grid().qmin();
            int qmax = t.grid().qmax();
            int[] index = scaleIndex(layout, groups, rows, t.scales().length);
            double[] alpha = ScaleFit.fittedToNearest(units, m, gramQ, cross, index, t.scales().length, qmin, qmax);
            INDArray levels;
            try (INDArray e = ScaleFit.expand(alpha, index, units.shape()); INDArray unitsAt = units.div(e);
                    INDArray mAt = m.mul(e)) {
                levels = RoundingOptimizer.optimize(unitsAt, mAt, gramQ, cross, qmin, qmax, iterations);
            }
            alpha = ScaleFit.factors(levels, m, gramQ, cross, index, t.scales().length);
            INDArray fittedM = ScaleFit.expand(alpha, index, units.shape()).muli(m);
            double before = 0;
            double after = 0;
            for (int g = 0; g < groups; g++) {
                float[] u = units.slice(g).dup('c').data().asFloat();
                float[] mg = m.slice(g).dup('c').data().asFloat();
                float[] fittedMg = fittedM.slice(g).dup('c').data().asFloat();
                float[] wf = wg.slice(g).dup('c').data().asFloat();
                float[] learned = levels.slice(g).dup('c').data().asFloat();
                float[] crossRows = cross.slice(g).dup('c').data().asFloat();
                float[] nearest = new float[u.length];
                float[] wq = new float[u.length];
                for (int i = 0; i < u.length; i++) {
                    nearest[i] = Math.max(t.grid().qmin(), Math.min(t.grid().qmax(), (float) Math.rint(u[i])))
                            * mg[i];
                    wq[i] = learned[i] * fittedMg[i];
                }
                before += RoundingOptimizer.loss(nearest, wf, moments.gramQ[g], moments.gram[g], crossRows, rows, k);
                after += RoundingOptimizer.loss(wq, wf, moments.gramQ[g], moments.gram[g], crossRows, rows, k);
            }
            for (INDArray temporary : new INDArray[] {gramQ, crossMoment, cross}) {
                NativeArrays.release(temporary);
            }
            INDArray q = layout.fromGroups(levels, w.shape()).castTo(t.grid().bits() <= 8 ? DataType.INT8
                    : DataType.INT16);
            for (INDArray temporary : new INDArray[] {units, perLevel, m, fittedM, wg, levels, scales}) {
                NativeArrays.release(temporary, w);
            }
            NativeArrays.release(folded, w);
            moments.release();
            quantized.graph().getVariable(PointNames.levels(op.weight())).setArray(q);
            TensorQuantization rescaled = rescaled(t, alpha);
            SDVariable scale = quantized.graph().getVariable(PointNames.scale(op.weight()));
            scale.setArray(Nd4j.create(rescaled.scales(), t.scaleShape(), 'c').castTo(scale.getArr().dataType()));
            fitted.set(fitted.indexOf(t), rescaled);
            LOG.debug("AdaRound {}: output error {} -> {} per column ({} ms)", op.output(), before, after,
                    (System.nanoTime() - start) / 1_000_000);
            results.add(new Result(op.output(), before, after));
        }
        return new Outcome(results, fitted);
    }

    /**
     * The weight scale of each row of the problems {@code [groups, rows, K]}, at {@code g * rows + r}: the output
     * channel's (a depthwise convolution's group, another op's row), or 0 for a per-tensor weight.
     */
    private static int[] scaleIndex(Layout layout, int groups, int rows, int scales) {
        boolean depthwise = layout.type().equals("depthwise");
        if (scales != 1 && scales != (depthwise ? groups : rows)) {
            throw new IllegalStateException(scales + " weight scales for " + groups + " x " + rows
                    + " output channels (" + layout.type() + ")");
        }
        int[] index = new int[groups * rows];
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < rows; r++) {
                index[g * rows + r] = scales == 1 ? 0 : depthwise ? g : r;
            }
        }
        return index;
    }

    /** {@code t} with each weight scale, and its clip range, times its factor. */
    private static TensorQuantization rescaled(TensorQuantization t, double[] alpha) {
        float[] scales = t.scales().clone();
        double[] lo = t.lo().clone();
        double[] hi = t.hi().clone();
        for (int c = 0; c < scales.length; c++) {
            scales[c] = (float) (scales[c] * alpha[c]);
            lo[c] *= alpha[c];
            hi[c] *= alpha[c];
        }
        return new TensorQuantization(t.tensor(), t.kind(), t.rank(), t.axis(), t.grid(), scales, lo, hi,
                t.consumers(), t.input(), t.inputAxis(), t.inputScales(), t.zeroPoints());
    }

    /** The second moments of one op's input columns, per group (see {@link #moments}). */
    private record Moments(INDArray[] gramQ, INDArray[] cross, INDArray[] gram) {
        void release() {
            for (INDArray[] arrays : List.of(gramQ, cross, gram)) {
                for (INDArray a : arrays) {
                    NativeArrays.release(a);
                }
            }
        }
    }

    /**
     * {@code G~ = X~ X~^T / N}, {@code X X~^T / N} and {@code G = X X^T / N} of the op's input columns, {@code X}
     * from the fp32 graph and {@code X~} from the quantized one, over the held calibration batches.
     */
    private static Moments moments(ObservedNetwork calibration, ModelGraph fp32, ModelGraph quantized,
            QuantizableOp op, Layout layout) {
        String quantizedInput = quantizedInput(quantized.graph(), op);
        INDArray[] gramQ = null;
        INDArray[] cross = null;
        INDArray[] gram = null;
        long columns = 0;
        List<INDArray[]> batches = calibration.heldBatches();
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> feed = InputFeed.of(fp32.inputs(), batches.get(b),
                    "calibration batch " + b + ": features");
            INDArray fp32Input = GraphExecution.output(fp32.graph(), feed, List.of(op.activation()))
                    .get(op.activation());
            INDArray quantizedValue = GraphExecution.output(quantized.graph(), feed, List.of(quantizedInput))
                    .get(quantizedInput);
            Columns xc = layout.columns(fp32Input);
            Columns xqc = layout.columns(quantizedValue);
            NativeArrays.release(fp32Input, batches.get(b));
            NativeArrays.release(quantizedValue, batches.get(b));
            INDArray x = xc.columns();
            INDArray xq = xqc.columns();
            int groups = (int) x.size(0);
            if (gramQ == null) {
                gramQ = new INDArray[groups];
                cross = new INDArray[groups];
                gram = new INDArray[groups];
            }
            for (int g = 0; g < groups; g++) {
                INDArray a = x.slice(g);
                INDArray aq = xq.slice(g);
                gramQ[g] = add(gramQ[g], aq.mmul(aq.transpose()));
                cross[g] = add(cross[g], a.mmul(aq.transpose()));
                gram[g] = add(gram[g], a.mmul(a.transpose()));
            }
            columns += x.size(2);
            NativeArrays.release(xc.owner());
            NativeArrays.release(xqc.owner());
        }
        for (int g = 0; g < gramQ.length; g++) {
            gramQ[g].divi(columns);
            cross[g].divi(columns);
            gram[g].divi(columns);
        }
        return new Moments(gramQ, cross, gram);
    }

    private static INDArray add(INDArray sum, INDArray term) {
        if (sum == null) {
            return term;
        }
        sum.addi(term);
        NativeArrays.release(term);
        return sum;
    }

    /** Input columns {@code [groups, K, N]}, a view of {@code owner}, the array to free after use. */
    private record Columns(INDArray columns, INDArray owner) {
    }

    /** The variable the op reads as its data input in the quantized graph (its point's fake-quant value, ...). */
    private static String quantizedInput(SameDiff sd, QuantizableOp op) {
        String producer = sd.getVariables().get(op.output()).getOutputOfOp();
        SameDiffOp sdo = sd.getOps().get(producer);
        return sdo.getInputsToOp().get(0);
    }

    /**
     * How an op's weights and inputs map to {@code [groups, rows, K]} weight matrices and {@code [groups, K, N]}
     * input columns: a convolution is one group ({@code O x I kH kW}, im2col columns), a depthwise convolution one
     * group per channel ({@code 1 x kH kW}), a dense layer one group ({@code O x K}).
     */
    private record Layout(String type, int[] toOiyx, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
            boolean same, boolean transposed) {

        /** The layout of {@code op}, or null where AdaRound does not take it. */
        static Layout of(SameDiff sd, QuantizableOp op) {
            SameDiffOp sdo = sd.getOps().get(op.op());
            INDArray w = sd.getVariable(op.weight()).getArr();
            switch (op.type()) {
                case "conv2d": {
                    if (!(sdo.getOp() instanceof Conv2D conv) || ConvolutionArgs.nhwc(conv) || w.rank() != 4) {
                        return null;
                    }
                    WeightsFormat format = ConvolutionArgs.weightsFormat(conv);
                    int[] perm = switch (format) {
                        case OIYX -> new int[] {0, 1, 2, 3};
                        case YXIO -> new int[] {3, 2, 0, 1};
                        case OYXI -> new int[] {0, 3, 1, 2};
                    };
                    return conv(conv, perm, "conv2d");
                }
                case "depthwise_conv2d": {
                    DynamicCustomOp c = (DynamicCustomOp) sdo.getOp();
                    if (ConvolutionArgs.nhwc(c) || w.rank() != 4 || w.size(3) != 1) {
                        return null;
                    }
                    return conv(c, new int[] {2, 3, 0, 1}, "depthwise");
                }
                case "xw_plus_b":
                case "matmul":
                    return w.rank() == 2 ? new Layout("dense", null, 0, 0, 0, 0, 0, 0, 0, 0, false,
                            op.weightInputAxis() == 0) : null;
                default:
                    return null;
            }
        }

        private static Layout conv(DynamicCustomOp op, int[] perm, String type) {
            long[] a = op.iArgs();
            if (a == null || a.length < 9) {
                return null;
            }
            return new Layout(type, perm, (int) a[0], (int) a[1], (int) a[2], (int) a[3], (int) a[4], (int) a[5],
                    (int) a[6], (int) a[7], a[8] == 1, false);
        }

        /** The weights as {@code [groups, rows, K]}. */
        INDArray toGroups(INDArray w) {
            return switch (type) {
                case "dense" -> {
                    INDArray ok = transposed ? w.transpose() : w;
                    yield ok.dup('c').reshape(1, ok.size(0), ok.size(1));
                }
                case "conv2d" -> {
                    INDArray oiyx = w.permute(toOiyx).dup('c');
                    yield oiyx.reshape(1, oiyx.size(0), oiyx.size(1) * oiyx.size(2) * oiyx.size(3));
                }
                default -> { // depthwise [kH, kW, C, 1] -> [C, 1, kH kW]
                    INDArray c1yx = w.permute(toOiyx).dup('c');
                    yield c1yx.reshape(c1yx.size(0), 1, c1yx.size(2) * c1yx.size(3));
                }
            };
        }

        /** Levels {@code [groups, rows, K]} back in the weight's own layout and {@code shape}. */
        INDArray fromGroups(INDArray levels, long[] shape) {
            return switch (type) {
                case "dense" -> {
                    INDArray ok = levels.reshape(levels.size(1), levels.size(2));
                    yield (transposed ? ok.transpose() : ok).dup('c');
                }
                default -> {
                    long[] permuted = new long[4];
                    for (int i = 0; i < 4; i++) {
                        permuted[i] = shape[toOiyx[i]];
                    }
                    INDArray p = levels.dup('c').reshape(permuted);
                    yield p.permute(inverse(toOiyx)).dup('c');
                }
            };
        }

        /** The input columns {@code [groups, K, N]} of a batch of the op's input. */
        Columns columns(INDArray x) {
            if (type.equals("dense")) {
                INDArray t = x.reshape(x.size(0), -1).transpose().dup('c');
                return new Columns(t.reshape(1, t.size(0), t.size(1)), t);
            }
            // im2col: [N, C, kH, kW, oH, oW]
            INDArray cols = Convolution.im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, same);
            INDArray ordered = cols.permute(1, 2, 3, 0, 4, 5).dup('c');
            NativeArrays.release(cols, x);
            long c = ordered.size(0);
            long taps = (long) kh * kw;
            long n = ordered.length() / (c * taps);
            return new Columns(type.equals("conv2d") ? ordered.reshape(1, c * taps, n)
                    : ordered.reshape(c, taps, n), ordered);
        }

        private static int[] inverse(int[] perm) {
            int[] inv = new int[perm.length];
            for (int i = 0; i < perm.length; i++) {
                inv[perm[i]] = i;
            }
            return inv;
        }
    }
}
