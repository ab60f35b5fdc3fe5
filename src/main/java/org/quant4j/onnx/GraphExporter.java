package org.quant4j.onnx;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import onnx.Onnx;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.range.QuantGrid;

/**
 * Writes one SameDiff graph (fp32, or quant4j's fake-quant form) as an ONNX graph, walking back from the outputs:
 * each value is written once, when a reader first needs it, producers before readers.
 *
 * <p>A value is needed in one of two forms. {@link #value} is its float value, as the SameDiff graph computes it;
 * {@link #levels} is the integer levels (uint8/int8, zero point 0) of a quantization point {@code t}, the
 * {@code t:q} of the fake-quant graph. A point's {@code t:fq} is {@code DequantizeLinear(levels(t), s_t)} (per axis 1
 * for per-channel scales); its levels are {@code QuantizeLinear(t, s_t)}, or written directly by the convolution or
 * dense layer that computes {@code t} ({@link KernelExport}). Quantized convolutions and dense layers read their
 * input point's levels through the ops that commute with quantization (identity, reshape, max pooling, run on the
 * integers themselves) and dequantize them with scale 1: quant4j folds the point's scales into the weights
 * ({@code W' = W * s_x}), so the kernel computes {@code s_w[o] * sum q_x q_w}, which is what ONNX Runtime's integer
 * kernels need (one scale per input tensor). Everything else is an ordinary ONNX op ({@link OpExport}).
 */
final class GraphExporter {

    final SameDiff sd;
    final OnnxGraph out;
    final OnnxExport.Form form;
    private final Map<String, TensorQuantization> activations = new HashMap<>();
    private final Map<String, TensorQuantization> weights = new HashMap<>();
    private final Map<String, String> values = new HashMap<>();
    private final Map<String, Levels> levels = new HashMap<>();
    private final Map<String, Levels> kernelInputs = new HashMap<>();
    /** Whether a variable depends on no placeholder, by name (memoized: the walk would repeat on every branch). */
    private final Map<String, Boolean> constants = new HashMap<>();
    /** The graph's outputs (each counts as a reader). */
    private final java.util.Set<String> outputs = new java.util.HashSet<>();
    /** Scalar initializers used by many nodes (zero points, the scale 1), written once. */
    private final Map<String, String> shared = new HashMap<>();

    /** Integer levels in the ONNX graph: the value's name, whether int8 (else uint8), the point they belong to. */
    record Levels(String name, boolean signed, TensorQuantization point) {
    }

    GraphExporter(SameDiff sd, List<TensorQuantization> quantizations, OnnxExport.Form form, String name) {
        this.sd = sd;
        this.form = form;
        this.out = new OnnxGraph(name);
        for (TensorQuantization t : quantizations) {
            (t.kind() == TensorQuantization.Kind.WEIGHT ? weights : activations).put(t.tensor(), t);
        }
    }

    /** The ONNX model of the graph with these inputs and outputs. */
    Onnx.ModelProto export(List<TensorSpec> inputs, List<String> outputs, String version) {
        this.outputs.addAll(outputs);
        for (TensorSpec in : inputs) {
            out.input(in.name(), in.shape());
            values.put(in.name(), in.name());
        }
        for (String o : outputs) {
            String v = value(o);
            String name = v.equals(o) ? o : out.node("Identity", List.of(v), out.fresh(o));
            out.output(name);
        }
        return out.model(version);
    }

    // ---------------------------------------------------------------- the graph read

    /** The op writing {@code variable}, or null for an input or constant. */
    SameDiffOp producer(String variable) {
        Variable v = sd.getVariables().get(variable);
        return v == null || v.getOutputOfOp() == null ? null : sd.getOps().get(v.getOutputOfOp());
    }

    /** How many ops read {@code variable}, plus one if it is a graph output. */
    int readers(String variable) {
        Variable v = sd.getVariables().get(variable);
        int n = v == null || v.getInputsForOp() == null ? 0 : v.getInputsForOp().size();
        return n + (outputs.contains(variable) ? 1 : 0);
    }

    /** The activation point {@code tensor}, or null. */
    TensorQuantization activation(String tensor) {
        return activations.get(tensor);
    }

    /** The quantization of the weight an op reads as input 1 ({@code <W>:dqi} or {@code <W>:dq}), or null. */
    TensorQuantization weightOf(SameDiffOp op) {
        List<String> in = op.getInputsToOp();
        if (in == null || in.size() < 2) {
            return null;
        }
        String tensor = PointNames.tensorOf(in.get(1));
        TensorQuantization w = tensor == null ? null : weights.get(tensor);
        return w != null && sd.hasVariable(PointNames.levels(w.tensor())) ? w : null;
    }

    /** The stored array of a constant or variable, or null for a computed value. */
    INDArray array(String variable) {
        SDVariable v = sd.getVariable(variable);
        if (v == null || (v.getVariableType() != VariableType.CONSTANT
                && v.getVariableType() != VariableType.VARIABLE)) {
            return null;
        }
        return v.getArr();
    }

    /** Whether {@code variable} depends on no placeholder (a constant, or computed from constants alone). */
    boolean constant(String variable) {
        Boolean known = constants.get(variable);
        if (known != null) {
            return known;
        }
        boolean c = array(variable) != null;
        SameDiffOp p = c ? null : producer(variable);
        if (p != null) {
            c = true;
            for (String in : p.getInputsToOp()) {
                c &= constant(in);
            }
        }
        constants.put(variable, c);
        return c;
    }

    /** The value of a constant variable (computed by SameDiff when it is computed from constants). */
    INDArray constantValue(String variable) {
        INDArray a = array(variable);
        return a != null ? a : GraphExecution.output(sd, Map.of(), List.of(variable)).get(variable);
    }

    // ---------------------------------------------------------------- values

    /** The ONNX name of {@code variable}'s float value, writing what computes it. */
    String value(String variable) {
        String known = values.get(variable);
        if (known != null) {
            return known;
        }
        String name;
        String tensor = PointNames.tensorOf(variable);
        if (PointNames.isFakeQuant(variable) && activations.containsKey(tensor)) {
            name = dequantize(levels(tensor), out.fresh(variable));
        } else if (constant(variable)) {
            INDArray a = constantValue(variable).castTo(DataType.FLOAT);
            name = out.floats(variable, a.dup('c').data().asFloat(), a.shape());
        } else {
            SameDiffOp op = producer(variable);
            if (op == null) {
                throw new OnnxExportException("variable '" + variable + "' is neither an input nor computed");
            }
            write(op);
            name = values.get(variable);
            if (name == null) {
                throw new OnnxExportException("op '" + op.getName() + "' (" + op.getOp().opName()
                        + ") was written without its output '" + variable + "'");
            }
            return name;
        }
        values.put(variable, name);
        return name;
    }

    /** Records that ONNX value {@code name} holds SameDiff variable {@code variable}. */
    void define(String variable, String name) {
        values.put(variable, name);
    }

    /** A fresh ONNX name for SameDiff variable {@code variable}. */
    String nameFor(String variable) {
        return out.fresh(variable);
    }

    private void write(SameDiffOp op) {
        if (weightOf(op) != null && KernelExport.takes(op)) {
            KernelExport.floatOutput(this, op);
            return;
        }
        OpExport.write(this, op);
    }

    // ---------------------------------------------------------------- levels

    /** The levels of point {@code tensor}: written by the kernel computing it where it can, else quantized. */
    Levels levels(String tensor) {
        Levels known = levels.get(tensor);
        if (known != null) {
            return known;
        }
        TensorQuantization point = activations.get(tensor);
        if (point.grid().bits() > 8) {
            throw new OnnxExportException("point '" + tensor + "' has " + point.grid().bits() + "-bit levels: ONNX"
                    + " QuantizeLinear (opset 13) has 8-bit types only");
        }
        Levels l = KernelExport.writeLevels(this, tensor, point);
        if (l == null) {
            String x = value(tensor);
            String q = out.fresh(PointNames.levels(tensor));
            out.node("QuantizeLinear", List.of(x, scales(point), zeroPoints(point, point.grid().signed())), q,
                    axis(point));
            l = new Levels(q, point.grid().signed(), point);
        }
        l = clipped(l);
        levels.put(tensor, l);
        return l;
    }

    /**
     * Levels limited to the point's grid where it is narrower than the type QuantizeLinear saturates to: a signed
     * grid is symmetric ({@code [-127, 127]}: QuantizeLinear would give -128), a grid of fewer bits ends below 255.
     */
    private Levels clipped(Levels l) {
        QuantGrid grid = l.point().grid();
        int typeMin = grid.signed() ? -128 : 0;
        int typeMax = grid.signed() ? 127 : 255;
        if (grid.qmin() <= typeMin && grid.qmax() >= typeMax) {
            return l;
        }
        String name = out.add("Clip", List.of(l.name(), out.bytes("qmin", new byte[] {(byte) grid.qmin()},
                grid.signed()), out.bytes("qmax", new byte[] {(byte) grid.qmax()}, grid.signed())),
                l.name() + "#clip");
        return new Levels(name, l.signed(), l.point());
    }

    /** {@code DequantizeLinear(l, s)} with the point's own scales, into {@code name}. */
    private String dequantize(Levels l, String name) {
        TensorQuantization p = l.point();
        return out.node("DequantizeLinear", List.of(l.name(), scales(p), zeroPoints(p, l.signed())), name, axis(p));
    }

    /**
     * The levels a quantized op reads as its data input: the levels of the point {@code input} comes from, through
     * identities, reshapes and max poolings written on the integers (max pooling commutes with a quantizer of
     * positive scale); null when {@code input} does not come from a point that way.
     */
    Levels kernelInput(String input) {
        Levels known = kernelInputs.get(input);
        if (known != null) {
            return known;
        }
        String tensor = PointNames.tensorOf(input);
        Levels l = null;
        if (PointNames.isFakeQuant(input) && activations.containsKey(tensor)) {
            l = levels(tensor);
        } else {
            SameDiffOp op = producer(input);
            if (op != null && (op.getOp() instanceof Identity || op.getOp() instanceof Reshape
                    || op.getOp() instanceof MaxPooling2D)) {
                Levels from = kernelInput(op.getInputsToOp().get(0));
                if (from != null) {
                    String name = OpExport.writeOnLevels(this, op, from.name(), out.fresh(input + "#levels"));
                    l = name == null ? null : new Levels(name, from.signed(), from.point());
                }
            }
        }
        if (l != null) {
            kernelInputs.put(input, l);
        }
        return l;
    }

    // ---------------------------------------------------------------- quantization parameters

    /** A point's scales: a scalar, or a 1-D tensor along its axis. */
    String scales(TensorQuantization p) {
        return p.perTensor() ? out.floats(p.tensor() + ":scale", new float[] {p.scales()[0]})
                : out.floats(p.tensor() + ":scale", p.scales(), p.scales().length);
    }

    /** A scalar scale. */
    String scalar(String base, float value) {
        return out.floats(base, new float[] {value});
    }

    /** The uint8 zero point 128 (uint8 operands standing for int8 values), written once. */
    String zeroPoint128() {
        return shared.computeIfAbsent("zero_point/128",
                k -> out.bytes("zero_point_128", new byte[] {(byte) 128}, false));
    }

    /**
     * A point's zero points, of type int8 or uint8, for its scales: a scalar, or one per channel; 0 unless the point
     * has zero points (the asymmetric grid, uint8: QuantizeLinear's {@code saturate(rint(x / s) + z)} and
     * DequantizeLinear's {@code (q - z) s} are the fake-quant graph's formulas).
     */
    String zeroPoints(TensorQuantization p, boolean signed) {
        if (p.hasZeroPoints()) {
            return p.perTensor() ? out.bytes(p.tensor() + ":zero_point", zeroPointBytes(p), false)
                    : out.bytes(p.tensor() + ":zero_point", zeroPointBytes(p), false, p.scales().length);
        }
        return p.perTensor() ? zeroPoint(signed)
                : out.bytes("zero_point", new byte[p.scales().length], signed, p.scales().length);
    }

    /** A point's zero points as uint8 bytes. */
    static byte[] zeroPointBytes(TensorQuantization p) {
        byte[] z = new byte[p.zeroPoints().length];
        for (int c = 0; c < z.length; c++) {
            z[c] = (byte) p.zeroPoints()[c];
        }
        return z;
    }

    /** A scalar zero point 0 of type int8 or uint8 (which sets the levels' type). */
    String zeroPoint(boolean signed) {
        return out.bytes("zero_point", new byte[] {0}, signed);
    }

    /** The {@code axis} attribute of a per-channel point's (de)quantization (per tensor: none needed, 1 given). */
    static Onnx.AttributeProto axis(TensorQuantization p) {
        return OnnxGraph.attr("axis", (long) (p.perTensor() ? 1 : p.axis()));
    }
}
