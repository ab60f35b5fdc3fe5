package org.quant4j.onnx;

import static org.quant4j.onnx.OnnxGraph.attr;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import onnx.Onnx;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;

/**
 * Quantized convolutions (also depthwise) and dense layers, read from quant4j's fake-quant graph: the input is the
 * levels {@code q_x} of the point it reads ({@link GraphExporter#kernelInput}), the weights the stored INT8 levels
 * {@code <W>:q} (input scales folded in), each output channel {@code o} scaled by {@code s_w[o]}, so the op computes
 * {@code y[o] = s_w[o] * sum q_x q_w + b[o]} as quant4j's integer kernels do.
 *
 * <p>Two forms. When the result flows through identities and at most one ReLU (each tensor read by the next op
 * alone) into a quantization point of the input's type, the op writes that point's levels: QDQ form,
 * {@code DequantizeLinear(q_x, 1)}, weights {@code DequantizeLinear(q_w, s_w / s_y)} per output channel, an int32
 * bias {@code rint(b / s_w)} behind {@code DequantizeLinear(., s_w / s_y)}, then {@code QuantizeLinear(., 1)}: the
 * point's scales {@code s_y} are folded in, so every scale ONNX Runtime's {@code QLinearConv}/{@code QGemm} needs is
 * per tensor where it must be. Otherwise the result is float: {@code ConvInteger} or {@code MatMulInteger} (int32
 * accumulators), cast, times {@code s_w[o]}, plus the float bias.
 */
final class KernelExport {

    private KernelExport() {
    }

    /** Whether the op is a convolution (NCHW) or dense layer this class writes. */
    static boolean takes(SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        if (f instanceof Conv2D c) {
            long[] a = c.iArgs();
            return a != null && a.length >= 9 && (a.length < 10 || a[9] == 0);
        }
        if (f instanceof DepthwiseConv2D d) {
            return !d.getConfig().isNHWC();
        }
        if (f instanceof XwPlusB) {
            return true;
        }
        if (f instanceof Mmul && op.getInputsToOp().size() == 2) {
            Map<String, Object> p = f.propertiesForFunction();
            return !Boolean.TRUE.equals(p.get("transposeA")) && !Boolean.TRUE.equals(p.get("transposeB"))
                    && !Boolean.TRUE.equals(p.get("transposeResult"));
        }
        return false;
    }

    /**
     * The levels of point {@code tensor} written by the kernel computing it (QDQ form), or null when no kernel
     * computes it that way.
     */
    static GraphExporter.Levels writeLevels(GraphExporter g, String tensor, TensorQuantization point) {
        if (g.form != OnnxExport.Form.QDQ || g.readers(tensor) != 1) {
            return null;
        }
        boolean relu = false;
        String t = tensor;
        SameDiffOp op = g.producer(t);
        while (op != null && (op.getOp() instanceof Identity || (isRelu(op) && !relu))) {
            relu |= isRelu(op);
            t = op.getInputsToOp().get(0);
            if (g.readers(t) != 1) {
                return null;
            }
            op = g.producer(t);
        }
        if (op == null || !takes(op) || g.weightOf(op) == null || !point.perTensor() && point.axis() != 1
                || point.hasZeroPoints()) {
            // A point with zero points is quantized from the kernel's float result, as in the int8 plan.
            return null;
        }
        GraphExporter.Levels x = g.kernelInput(op.getInputsToOp().get(0));
        if (x == null || x.signed() != point.grid().signed()) {
            return null;
        }
        Kernel k = Kernel.of(g, op, x);
        if (!point.perTensor() && point.scales().length != k.outChannels()) {
            return null;
        }
        if (!k.biasFitsAccumulators()) {
            return null; // a channel of (near) zero weights: the float form keeps its bias exactly
        }
        float[] scale = new float[k.outChannels()];
        for (int o = 0; o < scale.length; o++) {
            scale[o] = k.weightScale(o) / point.scales()[point.perTensor() ? 0 : o];
        }
        String y = k.qdq(g, scale, op.getOutputsOfOp().get(0));
        if (relu) {
            y = g.out.add("Relu", List.of(y), t + "#relu");
        }
        String q = g.out.fresh(PointNames.levels(tensor));
        g.out.node("QuantizeLinear", List.of(y, g.scalar("one", 1f), g.zeroPoint(point.grid().signed())), q);
        return new GraphExporter.Levels(q, point.grid().signed(), point);
    }

    /** The op with a float result: integer accumulators, scaled and biased in float. */
    static void floatOutput(GraphExporter g, SameDiffOp op) {
        GraphExporter.Levels x = g.kernelInput(op.getInputsToOp().get(0));
        if (x == null) {
            throw new OnnxExportException("quantized op '" + op.getName() + "' (" + op.getOp().opName()
                    + ") does not read the levels of a quantization point (its input '" + op.getInputsToOp().get(0)
                    + "'), so it cannot run as an integer op");
        }
        Kernel.of(g, op, x).integer(g, op.getOutputsOfOp().get(0));
    }

    static boolean isRelu(SameDiffOp op) {
        if (!(op.getOp() instanceof RectifiedLinear r)) {
            return false;
        }
        INDArray s = ((BaseScalarOp) r).scalar();
        return s == null || s.getDouble(0) == 0;
    }

    /**
     * One quantized op, its weights in ONNX layout.
     *
     * @param conv      a convolution (else dense)
     * @param levels    the weight levels in ONNX layout ([O, I/g, kH, kW] or [K, N])
     * @param shape     their shape
     * @param sw        the weight scale of each output channel
     * @param inScale   the input's dequantization scale: 1 where the point's scales are folded into the weights
     * @param bias      the bias per output channel, or null
     * @param x         the input levels
     * @param attrs     the convolution's attributes
     */
    private record Kernel(boolean conv, byte[] levels, long[] shape, float[] sw, float inScale, float[] bias,
            GraphExporter.Levels x, List<Onnx.AttributeProto> attrs) {

        static Kernel of(GraphExporter g, SameDiffOp op, GraphExporter.Levels x) {
            TensorQuantization w = g.weightOf(op);
            INDArray q = g.array(PointNames.levels(w.tensor())).castTo(DataType.FLOAT);
            float inScale = 1f;
            if (!g.sd.hasVariable(PointNames.inputScale(w.tensor()))) {
                if (!x.point().perTensor()) {
                    throw new OnnxExportException("quantized op '" + op.getName() + "' reads per-channel point '"
                            + x.point().tensor() + "' whose scales are not folded into its weights");
                }
                inScale = x.point().scales()[0];
            }
            List<String> in = op.getInputsToOp();
            float[] bias = in.size() > 2 ? g.constantValue(in.get(2)).castTo(DataType.FLOAT).dup('c').data()
                    .asFloat() : null;
            DifferentialFunction f = op.getOp();
            boolean conv = f instanceof Conv2D || f instanceof DepthwiseConv2D;
            INDArray onnx;
            long perScale = 1;
            List<Onnx.AttributeProto> attrs = new ArrayList<>();
            if (f instanceof Conv2D c) {
                long[] a = c.iArgs();
                long format = a.length > 10 ? a[10] : 0;
                onnx = format == 1 ? q : format == 0 ? q.permute(3, 2, 0, 1) : q.permute(0, 3, 1, 2);
                attrs.addAll(convAttributes(a, 1));
            } else if (f instanceof DepthwiseConv2D d) {
                long[] a = d.iArgs();
                long[] s = q.shape(); // [kH, kW, C, M]
                onnx = q.permute(2, 3, 0, 1).dup('c').reshape(s[2] * s[3], 1, s[0], s[1]);
                perScale = s[3];
                attrs.addAll(convAttributes(a, s[2]));
            } else {
                onnx = q;
            }
            onnx = onnx.dup('c');
            float[] values = onnx.data().asFloat();
            byte[] bytes = new byte[values.length];
            for (int i = 0; i < values.length; i++) {
                bytes[i] = (byte) values[i];
            }
            int outChannels = (int) (conv ? onnx.size(0) : onnx.size(1));
            float[] sw = new float[outChannels];
            for (int o = 0; o < outChannels; o++) {
                sw[o] = w.scales()[w.perTensor() ? 0 : (int) (o / perScale)];
            }
            return new Kernel(conv, bytes, onnx.shape(), sw, inScale, bias, x, attrs);
        }

        int outChannels() {
            return sw.length;
        }

        /** The dequantization scale of channel {@code o}'s product with the input levels. */
        float weightScale(int o) {
            return inScale * sw[o];
        }

        /** QDQ form, each output channel's product scaled by {@code scale[o]}: the op's float result's name. */
        String qdq(GraphExporter g, float[] scale, String base) {
            OnnxGraph out = g.out;
            int n = outChannels();
            String xf = inputZeroPoints(g, "QDQ") == null
                    ? out.add("DequantizeLinear", List.of(x.name(), g.scalar("one", 1f), g.zeroPoint(x.signed())),
                            x.point().tensor() + "#levels_f")
                    : x.point().perTensor()
                    ? out.add("DequantizeLinear", List.of(x.name(), g.scalar("one", 1f), inputZeroPoints(g, "QDQ")),
                            x.point().tensor() + "#levels_f")
                    : out.add("DequantizeLinear", List.of(x.name(), ones(g, x.point().scales().length),
                            inputZeroPoints(g, "QDQ")), x.point().tensor() + "#levels_f", attr("axis", 1L));
            String wq = out.bytes(base + "/W:q", levels, true, shape);
            String wf = out.add("DequantizeLinear", List.of(wq, out.floats(base + "/W:scale", scale, n),
                    out.bytes(base + "/W:zero_point", new byte[n], true, n)), base + "/W",
                    attr("axis", conv ? 0L : 1L));
            List<String> inputs = new ArrayList<>(List.of(xf, wf));
            if (bias != null) {
                int[] b = new int[n];
                for (int o = 0; o < n; o++) {
                    b[o] = accumulatorBias(o);
                }
                String bq = out.ints(base + "/b:q", b, n);
                inputs.add(out.add("DequantizeLinear", List.of(bq, out.floats(base + "/b:scale", scale, n),
                        out.ints(base + "/b:zero_point", new int[n], n)), base + "/b", attr("axis", 0L)));
            }
            return conv ? out.add("Conv", inputs, base, attrs.toArray(Onnx.AttributeProto[]::new))
                    : out.add("Gemm", inputs, base);
        }

        /**
         * The input point's zero points (uint8), or null where it has none: per tensor a scalar; per channel one per
         * channel along axis 1, which the QDQ form takes when the op reads the point's own levels (not through a
         * reshape, which moves the channels), and the integer form not at all (ConvInteger and MatMulInteger take
         * one zero point for the whole input).
         */
        String inputZeroPoints(GraphExporter g, String form) {
            TensorQuantization p = x.point();
            if (!p.hasZeroPoints()) {
                return null;
            }
            boolean ownLevels = x.name().equals(g.levels(p.tensor()).name());
            if (!p.perTensor() && (!form.equals("QDQ") || !ownLevels)) {
                throw new OnnxExportException("quantized op reading point '" + p.tensor() + "' cannot take its"
                        + " per-channel zero points in the " + form + " form" + (ownLevels ? "" : " through a reshape")
                        + " (quantize with per-tensor activations, or without zero points)");
            }
            return g.zeroPoints(p, false);
        }

        private static String ones(GraphExporter g, int n) {
            float[] one = new float[n];
            java.util.Arrays.fill(one, 1f);
            return g.out.floats("ones_" + n, one, n);
        }

        /** Whether every channel's bias in accumulator units fits an int32. */
        boolean biasFitsAccumulators() {
            for (int o = 0; bias != null && o < bias.length; o++) {
                double acc = Math.rint(bias[o] / (double) weightScale(o));
                if (!(Math.abs(acc) < Integer.MAX_VALUE)) {
                    return false;
                }
            }
            return true;
        }

        /** {@code rint(b[o] / (s_x s_w[o]))}: the bias in accumulator units. */
        private int accumulatorBias(int o) {
            double acc = Math.rint(bias[o] / (double) weightScale(o));
            if (Math.abs(acc) >= Integer.MAX_VALUE || Double.isNaN(acc)) {
                throw new OnnxExportException("bias of output channel " + o + " (" + bias[o]
                        + ") does not fit an int32 accumulator at weight scale " + weightScale(o));
            }
            return (int) acc;
        }

        /** Integer accumulators ({@code ConvInteger}/{@code MatMulInteger}), scaled and biased in float. */
        void integer(GraphExporter g, String output) {
            OnnxGraph out = g.out;
            int n = outChannels();
            String acc;
            if (conv) {
                // ONNX Runtime's ConvInteger takes uint8 operands with scalar zero points: the weights as q + 128.
                byte[] shifted = new byte[levels.length];
                for (int i = 0; i < levels.length; i++) {
                    shifted[i] = (byte) (levels[i] + 128);
                }
                String xu = x.name();
                String xZero = inputZeroPoints(g, "integer") != null ? inputZeroPoints(g, "integer")
                        : g.zeroPoint(false);
                if (x.signed()) {
                    String xf = out.add("DequantizeLinear", List.of(x.name(), g.scalar("one", 1f),
                            g.zeroPoint(true)), x.point().tensor() + "#levels_f");
                    xZero = g.zeroPoint128();
                    xu = out.add("QuantizeLinear", List.of(xf, g.scalar("one", 1f), xZero),
                            x.point().tensor() + "#levels_u8");
                }
                acc = out.add("ConvInteger", List.of(xu, out.bytes(output + "/W:q", shifted, false, shape), xZero,
                        g.zeroPoint128()), output + "#acc",
                        attrs.toArray(Onnx.AttributeProto[]::new));
            } else {
                String xZero = inputZeroPoints(g, "integer");
                acc = out.add("MatMulInteger", List.of(x.name(), out.bytes(output + "/W:q", levels, true, shape),
                        xZero != null ? xZero : g.zeroPoint(x.signed()), g.zeroPoint(true)), output + "#acc");
            }
            String f = out.add("Cast", List.of(acc), output + "#accf", attr("to", (long) Onnx.TensorProto.DataType.FLOAT_VALUE));
            float[] s = new float[n];
            for (int o = 0; o < n; o++) {
                s[o] = weightScale(o);
            }
            long[] dims = conv ? new long[] {1, n, 1, 1} : new long[] {1, n};
            String y = out.add("Mul", List.of(f, out.floats(output + "/W:scale", s, dims)),
                    bias == null ? output : output + "#scaled");
            if (bias != null) {
                y = out.add("Add", List.of(y, out.floats(output + "/b", bias, dims)), output);
            }
            g.define(output, y);
        }

        /** kernel_shape, strides, dilations, group and padding (SAME as SAME_UPPER, as DL4J pads). */
        private static List<Onnx.AttributeProto> convAttributes(long[] a, long group) {
            List<Onnx.AttributeProto> attrs = new ArrayList<>(List.of(attr("kernel_shape", a[0], a[1]),
                    attr("strides", a[2], a[3]), attr("dilations", a[6], a[7]), attr("group", group)));
            attrs.add(a[8] == 1 ? attr("auto_pad", "SAME_UPPER") : attr("pads", a[4], a[5], a[4], a[5]));
            return attrs;
        }
    }
}
