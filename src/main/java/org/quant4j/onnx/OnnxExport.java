package org.quant4j.onnx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.nd4j.autodiff.samediff.SameDiff;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.io.AtomicFiles;

/**
 * ONNX export (opset 13) of a quant4j graph. A fake-quant graph is written in QDQ form: every quantization point as
 * {@code QuantizeLinear}/{@code DequantizeLinear} (per axis 1 where it has per-channel scales), int8 weight
 * initializers with a scale per output channel, int32 biases, and the point scales folded so that every quantized
 * convolution and dense layer reads a per-tensor input ({@link GraphExporter}, {@link KernelExport}). An fp32 graph
 * (no quantizations) is written as plain float ops. Ops without an ONNX form are refused with an
 * {@link OnnxExportException} naming them; nothing is written then.
 */
public final class OnnxExport {

    /** The opset the files use. */
    public static final int OPSET = OnnxGraph.OPSET;

    private OnnxExport() {
    }

    /**
     * The ONNX model's bytes (a serialized {@code ModelProto}).
     *
     * @param sd            the graph (not changed)
     * @param quantizations how its tensors are quantized (empty for an fp32 graph)
     * @param inputs        its inputs, in order
     * @param outputs       its outputs, in order
     * @param name          the ONNX graph's name
     */
    public static byte[] toBytes(SameDiff sd, List<TensorQuantization> quantizations, List<TensorSpec> inputs,
            List<String> outputs, String name) {
        return new GraphExporter(sd, quantizations, name).export(inputs, outputs, version()).toByteArray();
    }

    /** Writes the ONNX model to {@code target} atomically ({@link AtomicFiles}); the model is built first. */
    public static void write(SameDiff sd, List<TensorQuantization> quantizations, List<TensorSpec> inputs,
            List<String> outputs, Path target) throws IOException {
        String file = target.getFileName() == null ? "model" : target.getFileName().toString();
        byte[] bytes;
        try {
            bytes = toBytes(sd, quantizations, inputs, outputs, file.replaceFirst("\\.onnx$", ""));
        } catch (OnnxExportException e) {
            throw new OnnxExportException(target + ": " + e.getMessage());
        }
        AtomicFiles.write(target, bytes);
    }

    private static String version() {
        String v = OnnxExport.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
