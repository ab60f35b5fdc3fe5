package org.quant4j.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

/**
 * An ONNX graph being written: nodes in the order they are added (callers add producers first, so the list is
 * topologically sorted), initializers, inputs and outputs, with names kept unique. Opset {@link #OPSET} of the
 * default domain, IR version 7 (the first that knows opset 13).
 */
final class OnnxGraph {

    /** The opset written: 13, the first with per-axis QuantizeLinear/DequantizeLinear. */
    static final int OPSET = 13;
    private static final int IR_VERSION = 7;

    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();

    OnnxGraph(String name) {
        graph.setName(name);
    }

    /** {@code base} if no value has that name yet, else {@code base_2}, {@code base_3}, ...; reserved. */
    String fresh(String base) {
        String name = base;
        for (int i = 2; names.contains(name); i++) {
            name = base + "_" + i;
        }
        names.add(name);
        return name;
    }

    /** Whether a value of this name exists. */
    boolean has(String name) {
        return names.contains(name);
    }

    /** Adds a node writing {@code output} (a name from {@link #fresh}); returns {@code output}. */
    String node(String opType, List<String> inputs, String output, Onnx.AttributeProto... attributes) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(opType).setName(output + "/" + opType)
                .addAllInput(inputs).addOutput(output);
        for (Onnx.AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return output;
    }

    /** Adds a node writing a fresh value named after {@code base}; returns its name. */
    String add(String opType, List<String> inputs, String base, Onnx.AttributeProto... attributes) {
        return node(opType, inputs, fresh(base), attributes);
    }

    /** A float input of the graph; {@code -1} dimensions are symbolic ({@code N} for the first, else named). */
    void input(String name, long[] shape) {
        names.add(name);
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (int i = 0; shape != null && i < shape.length; i++) {
            s.addDim(shape[i] >= 0 ? Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(shape[i])
                    : Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(i == 0 ? "N" : name + "_d" + i));
        }
        Onnx.TypeProto.Tensor.Builder t = Onnx.TypeProto.Tensor.newBuilder()
                .setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE);
        if (shape != null) {
            t.setShape(s);
        }
        graph.addInput(Onnx.ValueInfoProto.newBuilder().setName(name)
                .setType(Onnx.TypeProto.newBuilder().setTensorType(t)));
    }

    /** A float output of the graph (shape left to the runtime). */
    void output(String name) {
        graph.addOutput(Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder()
                        .setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE))));
    }

    /** A float initializer of the given dimensions; returns its (fresh) name. */
    String floats(String base, float[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return initializer(base, Onnx.TensorProto.DataType.FLOAT, b.array(), dims);
    }

    /** An int32 initializer; returns its name. */
    String ints(String base, int[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return initializer(base, Onnx.TensorProto.DataType.INT32, b.array(), dims);
    }

    /** An int64 initializer; returns its name. */
    String longs(String base, long[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return initializer(base, Onnx.TensorProto.DataType.INT64, b.array(), dims);
    }

    /** An int8 ({@code signed}) or uint8 initializer of the given bytes; returns its name. */
    String bytes(String base, byte[] values, boolean signed, long... dims) {
        return initializer(base, signed ? Onnx.TensorProto.DataType.INT8 : Onnx.TensorProto.DataType.UINT8,
                values.clone(), dims);
    }

    private String initializer(String base, Onnx.TensorProto.DataType type, byte[] raw, long... dims) {
        String name = fresh(base);
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(raw));
        for (long d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t);
        return name;
    }

    /** The model: this graph, opset {@link #OPSET}, with quant4j as producer. */
    Onnx.ModelProto model(String producerVersion) {
        return Onnx.ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("quant4j")
                .setProducerVersion(producerVersion)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph).build();
    }

    // ---------------------------------------------------------------- attributes

    static Onnx.AttributeProto attr(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT)
                .setI(value).build();
    }

    static Onnx.AttributeProto attr(String name, float value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT)
                .setF(value).build();
    }

    static Onnx.AttributeProto attr(String name, String value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value)).build();
    }

    static Onnx.AttributeProto attr(String name, long... values) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name)
                .setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }
}
