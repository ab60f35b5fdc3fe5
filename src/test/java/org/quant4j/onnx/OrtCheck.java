package org.quant4j.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import onnx.Onnx;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;

/**
 * Runs an exported model in ONNX Runtime (CPU, all graph optimizations) and reads back the graph ONNX Runtime
 * actually runs ({@code SessionOptions.setOptimizedModelFilePath}): what the export tests assert on.
 */
public final class OrtCheck implements AutoCloseable {

    /** The op types that are integer convolutions or matrix products. */
    public static final Set<String> INTEGER_OPS = Set.of("QLinearConv", "QLinearMatMul", "QGemm", "MatMulInteger",
            "ConvInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul");
    /** The op types that are float convolutions or matrix products. */
    public static final Set<String> FLOAT_OPS = Set.of("Conv", "Gemm", "MatMul", "FusedConv", "FusedGemm",
            "FusedMatMul", "ConvTranspose");

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Onnx.ModelProto optimized;
    private final String input;
    private final int inputRank;

    private OrtCheck(Path model, Path optimizedFile) throws OrtException, IOException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setOptimizedModelFilePath(optimizedFile.toString());
            options.setIntraOpNumThreads(1);
            session = env.createSession(model.toString(), options);
        }
        optimized = Onnx.ModelProto.parseFrom(Files.readAllBytes(optimizedFile));
        input = session.getInputNames().iterator().next();
        inputRank = ((ai.onnxruntime.TensorInfo) session.getInputInfo().get(input).getInfo()).getShape().length;
    }

    /** Exports {@code model} into {@code dir} and opens it in ONNX Runtime. */
    public static OrtCheck export(QuantizedModel model, Path dir, OnnxExport.Form form)
            throws IOException, OrtException {
        Path file = dir.resolve("model-" + form + ".onnx");
        model.exportOnnx(file.toFile(), form);
        return new OrtCheck(file, dir.resolve("model-" + form + ".optimized.onnx"));
    }

    /** Opens an ONNX file. */
    public static OrtCheck open(Path file, Path dir) throws IOException, OrtException {
        return new OrtCheck(file, dir.resolve(file.getFileName() + ".optimized.onnx"));
    }

    /** The first output for a float batch. */
    public INDArray output(INDArray x) throws OrtException {
        INDArray c = x.castTo(DataType.FLOAT).dup('c');
        if (inputRank == 2 && c.rank() != 2) {
            c = c.reshape(c.size(0), c.length() / c.size(0)); // a flat input fed images, as DL4J accepts
        }
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(c.data().asFloat()), c.shape());
                OrtSession.Result r = session.run(Map.of(input, t))) {
            OnnxTensor y = (OnnxTensor) r.get(0);
            long[] shape = y.getInfo().getShape();
            FloatBuffer b = y.getFloatBuffer();
            float[] values = new float[b.remaining()];
            b.get(values);
            return Nd4j.create(values, shape, 'c');
        }
    }

    /** How many nodes of each op type the optimized graph runs. */
    public Map<String, Integer> opCounts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (Onnx.NodeProto n : optimized.getGraph().getNodeList()) {
            counts.merge(n.getOpType(), 1, Integer::sum);
        }
        return counts;
    }

    /** The optimized graph's float convolutions and matrix products, as "name (type)". */
    public List<String> floatKernels() {
        List<String> found = new ArrayList<>();
        for (Onnx.NodeProto n : optimized.getGraph().getNodeList()) {
            if (FLOAT_OPS.contains(n.getOpType())) {
                found.add(n.getName() + " (" + n.getOpType() + ")");
            }
        }
        return found;
    }

    /** How many integer convolutions and matrix products the optimized graph runs. */
    public int integerKernels() {
        return opCounts().entrySet().stream().filter(e -> INTEGER_OPS.contains(e.getKey()))
                .mapToInt(Map.Entry::getValue).sum();
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
