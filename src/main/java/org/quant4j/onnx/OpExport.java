package org.quant4j.onnx;

import static org.quant4j.onnx.OnnxGraph.attr;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import onnx.Onnx;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;

/**
 * The ops of a graph that are not quantized convolutions or dense layers, one ONNX op each (float): element-wise
 * arithmetic (add, subtract, multiply, divide, maximum, minimum) and functions (ReLU, leaky ReLU, sigmoid, tanh,
 * exp, log, sqrt, abs, neg, softplus, softsign), transposes, softmax, pooling, global pooling (a mean or max over H and W), reshape, concatenation,
 * BatchNorm left unfolded, zero padding, and convolutions and dense layers kept in fp32. Any other op is refused
 * with an {@link OnnxExportException} naming it.
 */
final class OpExport {

    private OpExport() {
    }

    /** Writes {@code op} reading float values; defines its output. */
    static void write(GraphExporter g, SameDiffOp op) {
        DifferentialFunction f = op.getOp();
        List<String> in = op.getInputsToOp();
        String outVar = op.getOutputsOfOp().get(0);
        if (op.getOutputsOfOp().size() != 1) {
            throw unsupported(op, "it has " + op.getOutputsOfOp().size() + " outputs");
        }
        String name = g.nameFor(outVar);
        OnnxGraph o = g.out;
        switch (f.opName()) {
            case "add" -> o.node("Add", values(g, in), name);
            case "subtract" -> o.node("Sub", values(g, in), name);
            case "multiply" -> o.node("Mul", values(g, in), name);
            case "divide" -> o.node("Div", values(g, in), name);
            case "identity" -> o.node("Identity", values(g, in.subList(0, 1)), name);
            case "relu" -> {
                if (!KernelExport.isRelu(op)) {
                    throw unsupported(op, "a ReLU with a threshold other than 0");
                }
                o.node("Relu", values(g, in), name);
            }
            case "leakyrelu" -> o.node("LeakyRelu", values(g, in), name,
                    attr("alpha", (float) ((BaseScalarOp) f).scalar().getDouble(0)));
            case "sigmoid" -> o.node("Sigmoid", values(g, in), name);
            case "exp" -> o.node("Exp", values(g, in), name);
            case "log" -> o.node("Log", values(g, in), name);
            case "sqrt" -> o.node("Sqrt", values(g, in), name);
            case "abs" -> o.node("Abs", values(g, in), name);
            case "neg" -> o.node("Neg", values(g, in), name);
            case "maximum" -> o.node("Max", values(g, in), name);
            case "minimum" -> o.node("Min", values(g, in), name);
            case "softplus" -> o.node("Softplus", values(g, in), name);
            case "softsign" -> o.node("Softsign", values(g, in), name);
            case "tanh" -> o.node("Tanh", values(g, in), name);
            case "softmax" -> {
                long[] a = ((DynamicCustomOp) f).iArgs();
                o.node("Softmax", values(g, in), name, attr("axis", a.length > 0 ? a[0] : -1L));
            }
            case "reshape", "maxpool2d" -> {
                String written = writeOnLevels(g, op, g.value(in.get(0)), name);
                if (written == null) {
                    throw unsupported(op, "its arguments " + Arrays.toString(((DynamicCustomOp) f).iArgs()));
                }
            }
            case "avgpool2d" -> {
                long[] a = ((DynamicCustomOp) f).iArgs();
                requireNchw(op, a, 10);
                List<Onnx.AttributeProto> attrs = poolAttributes(a);
                attrs.add(attr("count_include_pad", a.length > 9 && a[9] != 0 ? 1L : 0L));
                o.node("AveragePool", values(g, in), name, attrs.toArray(Onnx.AttributeProto[]::new));
            }
            case "reduce_mean", "reduce_max" -> {
                BaseReduceOp r = (BaseReduceOp) f;
                int[] dims = r.dimensions() == null ? null : r.dimensions().toIntVector();
                if (dims == null || dims.length == 0 || in.size() != 1) {
                    throw unsupported(op, "a reduction over all dimensions");
                }
                long[] axes = Arrays.stream(dims).asLongStream().toArray();
                o.node(f.opName().equals("reduce_mean") ? "ReduceMean" : "ReduceMax", values(g, in), name,
                        attr("axes", axes), attr("keepdims", r.isKeepDims() ? 1L : 0L));
            }
            case "concat" -> {
                long[] a = ((DynamicCustomOp) f).iArgs();
                if (a.length == 0) {
                    throw unsupported(op, "a concatenation along a computed axis");
                }
                o.node("Concat", values(g, in), name, attr("axis", a[a.length - 1]));
            }
            case "conv2d", "depthwise_conv2d" -> fp32Convolution(g, op, name);
            case "xw_plus_b" -> o.node("Gemm", values(g, in), name);
            case "matmul" -> {
                if (!KernelExport.takes(op)) {
                    throw unsupported(op, "a transposed matrix product");
                }
                o.node("MatMul", values(g, in), name);
            }
            case "permute" -> {
                long[] a = ((DynamicCustomOp) f).iArgs();
                if (a == null || a.length == 0 || in.size() != 1) {
                    throw unsupported(op, "a permutation computed at run time");
                }
                o.node("Transpose", values(g, in), name, attr("perm", a));
            }
            case "batchnorm" -> batchNorm(g, op, name);
            case "pad" -> pad(g, op, name);
            default -> throw unsupported(op, "ONNX export does not support this op");
        }
        g.define(outVar, name);
    }

    /**
     * An identity, reshape or max pooling of {@code input} (float or integer levels: each is exact on levels) into
     * {@code name}; null when the op is none of these or its arguments are not supported.
     */
    static String writeOnLevels(GraphExporter g, SameDiffOp op, String input, String name) {
        DifferentialFunction f = op.getOp();
        OnnxGraph o = g.out;
        switch (f.opName()) {
            case "identity":
                return o.node("Identity", List.of(input), name);
            case "reshape": {
                long[] shape = reshapeTarget(g, op);
                return shape == null ? null
                        : o.node("Reshape", List.of(input, o.longs(name + ":shape", shape, shape.length)), name);
            }
            case "maxpool2d": {
                long[] a = ((DynamicCustomOp) f).iArgs();
                if (a == null || a.length < 9 || (a.length > 10 && a[10] != 0)) {
                    return null;
                }
                return o.node("MaxPool", List.of(input), name, poolAttributes(a).toArray(Onnx.AttributeProto[]::new));
            }
            default:
                return null;
        }
    }

    /** The target shape of a reshape, from its arguments (order first) or its constant shape input; or null. */
    private static long[] reshapeTarget(GraphExporter g, SameDiffOp op) {
        long[] a = ((DynamicCustomOp) op.getOp()).iArgs();
        if (a != null && a.length > 0) {
            if (a[0] == -'f') {
                return null; // a Fortran-order reshape moves elements: no ONNX Reshape does that
            }
            return a[0] == -'c' ? Arrays.copyOfRange(a, 1, a.length) : a.clone();
        }
        if (op.getInputsToOp().size() > 1 && g.constant(op.getInputsToOp().get(1))) {
            return g.constantValue(op.getInputsToOp().get(1)).toLongVector();
        }
        return null;
    }

    private static List<Onnx.AttributeProto> poolAttributes(long[] a) {
        List<Onnx.AttributeProto> attrs = new ArrayList<>(List.of(attr("kernel_shape", a[0], a[1]),
                attr("strides", a[2], a[3])));
        if (a[6] != 1 || a[7] != 1) {
            attrs.add(attr("dilations", a[6], a[7]));
        }
        attrs.add(a[8] == 1 ? attr("auto_pad", "SAME_UPPER") : attr("pads", a[4], a[5], a[4], a[5]));
        return attrs;
    }

    private static void requireNchw(SameDiffOp op, long[] a, int nhwcArg) {
        if (a == null || a.length < 9 || (a.length > nhwcArg && a[nhwcArg] != 0)) {
            throw unsupported(op, "NHWC data or arguments " + Arrays.toString(a));
        }
    }

    /** A convolution kept in fp32 (its weights float initializers, in ONNX's OIHW layout). */
    private static void fp32Convolution(GraphExporter g, SameDiffOp op, String name) {
        DifferentialFunction f = op.getOp();
        List<String> in = op.getInputsToOp();
        long[] a = ((DynamicCustomOp) f).iArgs();
        boolean depthwise = f.opName().equals("depthwise_conv2d");
        requireNchw(op, a, 9);
        if (!g.constant(in.get(1))) {
            throw unsupported(op, "weights computed at run time");
        }
        INDArray w = g.constantValue(in.get(1)).castTo(DataType.FLOAT);
        long group = 1;
        if (depthwise) {
            long[] s = w.shape();
            w = w.permute(2, 3, 0, 1).dup('c').reshape(s[2] * s[3], 1, s[0], s[1]);
            group = s[2];
        } else {
            long format = a.length > 10 ? a[10] : 0;
            w = format == 1 ? w : format == 0 ? w.permute(3, 2, 0, 1) : w.permute(0, 3, 1, 2);
        }
        w = w.dup('c');
        List<String> inputs = new ArrayList<>(List.of(g.value(in.get(0)),
                g.out.floats(in.get(1), w.data().asFloat(), w.shape())));
        if (in.size() > 2) {
            inputs.add(g.value(in.get(2)));
        }
        List<Onnx.AttributeProto> attrs = new ArrayList<>(List.of(attr("kernel_shape", a[0], a[1]),
                attr("strides", a[2], a[3]), attr("dilations", a[6], a[7]), attr("group", group)));
        attrs.add(a[8] == 1 ? attr("auto_pad", "SAME_UPPER") : attr("pads", a[4], a[5], a[4], a[5]));
        g.out.node("Conv", inputs, name, attrs.toArray(Onnx.AttributeProto[]::new));
    }

    /** BatchNorm over axis 1: ONNX's BatchNormalization (scale 1 and shift 0 where the op applies none). */
    private static void batchNorm(GraphExporter g, SameDiffOp op, String name) {
        DynamicCustomOp f = (DynamicCustomOp) op.getOp();
        List<String> in = op.getInputsToOp();
        long[] a = f.iArgs();
        double[] t = f.tArgs();
        boolean gamma = a.length > 0 && a[0] != 0;
        boolean beta = a.length > 1 && a[1] != 0;
        if (a.length > 2 && !(a.length == 3 && a[2] == 1)) {
            throw unsupported(op, "a BatchNorm over axes " + Arrays.toString(Arrays.copyOfRange(a, 2, a.length)));
        }
        INDArray mean = g.constantValue(in.get(1)).castTo(DataType.FLOAT);
        int c = (int) mean.length();
        int next = 3;
        String scale = gamma ? flat(g, in.get(next++)) : g.out.floats(name + ":gamma", filled(c, 1f), c);
        String shift = beta ? flat(g, in.get(next)) : g.out.floats(name + ":beta", new float[c], c);
        g.out.node("BatchNormalization", List.of(g.value(in.get(0)), scale, shift, flat(g, in.get(1)),
                flat(g, in.get(2))), name, attr("epsilon", (float) (t.length > 0 ? t[0] : 1e-5)));
    }

    /** A constant as a 1-D float initializer. */
    private static String flat(GraphExporter g, String variable) {
        INDArray v = g.constantValue(variable).castTo(DataType.FLOAT);
        return g.out.floats(variable, v.dup('c').data().asFloat(), v.length());
    }

    private static float[] filled(int n, float value) {
        float[] v = new float[n];
        Arrays.fill(v, value);
        return v;
    }

    /** Constant zero padding: ONNX's Pad with the paddings as [begin..., end...]. */
    private static void pad(GraphExporter g, SameDiffOp op, String name) {
        DynamicCustomOp f = (DynamicCustomOp) op.getOp();
        long[] a = f.iArgs();
        double[] t = f.tArgs();
        if ((a.length > 0 && a[0] != 0) || (t.length > 0 && t[0] != 0) || !g.constant(op.getInputsToOp().get(1))) {
            throw unsupported(op, "a padding other than constant zeros");
        }
        INDArray p = g.constantValue(op.getInputsToOp().get(1));
        int rank = (int) p.size(0);
        long[] pads = new long[2 * rank];
        for (int d = 0; d < rank; d++) {
            pads[d] = p.getLong(d, 0);
            pads[rank + d] = p.getLong(d, 1);
        }
        g.out.node("Pad", List.of(g.value(op.getInputsToOp().get(0)), g.out.longs(name + ":pads", pads, pads.length)),
                name);
    }

    private static List<String> values(GraphExporter g, List<String> in) {
        List<String> names = new ArrayList<>();
        for (String v : in) {
            names.add(g.value(v));
        }
        return names;
    }

    static OnnxExportException unsupported(SameDiffOp op, String why) {
        return new OnnxExportException("cannot export op '" + op.getName() + "' (" + op.getOp().opName() + ", reading "
                + op.getInputsToOp() + "): " + why);
    }
}
