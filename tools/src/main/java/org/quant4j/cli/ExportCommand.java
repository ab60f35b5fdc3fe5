package org.quant4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.quant4j.QuantizedModel;
import org.quant4j.graph.ModelGraph;
import org.quant4j.onnx.OnnxExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code quant4j export MODEL -o model.onnx}: a quantized model (or, with --fp32, a DL4J network) as ONNX. */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a quantized model (.q4j) as an ONNX graph (opset 13, QDQ: QuantizeLinear/"
                + "DequantizeLinear around int8 weights with a scale per output channel), which ONNX Runtime runs on "
                + "its integer kernels.",
                "With --fp32, MODEL is a DL4J model file or zoo model name instead, written as its fp32 graph."})
final class ExportCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "Quantized model (.q4j); with --fp32 a DL4J model "
            + "file or zoo model name.")
    String model;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "The ONNX file to write (default: MODEL's name with .onnx, in the current directory).")
    Path output;

    @Option(names = "--form", defaultValue = "qdq", paramLabel = "FORM",
            description = "qdq: layers whose result is quantized again as DequantizeLinear -> Conv/Gemm -> "
                    + "QuantizeLinear with int32 biases (QLinearConv/QGemm in ONNX Runtime) | exact: integer "
                    + "accumulators (ConvInteger/MatMulInteger) with float scales and biases, quant4j's own "
                    + "arithmetic (default: ${DEFAULT-VALUE}).")
    String form;

    @Option(names = "--fp32", description = "Export the fp32 network MODEL (a DL4J model file or zoo model name).")
    boolean fp32;

    @Override
    public Integer call() throws Exception {
        OnnxExport.Form f;
        try {
            f = OnnxExport.Form.valueOf(form.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw usage("--form: '" + form + "' is not qdq or exact");
        }
        Path file = output != null ? output : Path.of(defaultName(model));
        requireFileOrAbsent("--output", file);
        Files.createDirectories(file.toAbsolutePath().getParent());
        if (fp32) {
            ModelGraph graph = Fp32Model.resolve(model, seed).graph();
            OnnxExport.write(graph.graph(), java.util.List.of(), graph.inputs(), graph.outputs(), f, file);
        } else {
            QuantizedModel q = QuantizedModel.load(EvalCommand.existing(Path.of(model)).toFile());
            q.exportOnnx(file.toFile(), f);
        }
        main.out.printf(Locale.ROOT, "wrote %s (%,d bytes, ONNX opset %d%s)%n", file, Files.size(file),
                OnnxExport.OPSET, fp32 ? ", fp32" : ", " + f.name().toLowerCase(Locale.ROOT));
        return Main.OK;
    }

    /** MODEL's file name without extension, plus .onnx; a zoo name in lower case. */
    static String defaultName(String model) {
        String q4j = QuantizeCommand.defaultName(model);
        return q4j.substring(0, q4j.length() - ".q4j".length()) + ".onnx";
    }
}
