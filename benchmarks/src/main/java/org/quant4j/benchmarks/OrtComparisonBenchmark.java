package org.quant4j.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.File;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.ZooModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.onnx.OnnxExport;
import org.quant4j.reference.FashionCnn;
import org.quant4j.reference.ReferenceNetwork;

/**
 * quant4j's int8 plan against ONNX Runtime, side by side in one JMH run, on the same networks and inputs: quant4j
 * int8 (default options), ONNX Runtime int8 (the same quantized model exported as QDQ, which ONNX Runtime fuses
 * into QLinearConv/QGemm), ONNX Runtime fp32 (the converted fp32 graph exported without quantization) and SameDiff
 * fp32 (the converted graph in SameDiff). Networks: ResNet-50 (DL4J zoo, random weights at He's scale, 10 classes,
 * 224x224x3), the demo CNN ({@link FashionCnn}, random weights) and the ResNet-style and MobileNet-style reference
 * networks (trained weights from {@code models/} when found there, else random); batch 1 and 8.
 *
 * <p>Threads: ONNX Runtime runs with {@code -Dq4j.threads} intra-op threads (default 2) and one inter-op thread;
 * quant4j's oneDNN and SameDiff use OpenMP, so run with {@code OMP_NUM_THREADS} set to the same number
 * ({@code benchmarks/ort-comparison.sh} does). ONNX Runtime's input tensor is made once in the setup, as quant4j's
 * input array is: both measure the model call alone. All graph optimizations on in ONNX Runtime.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgs = {"-Xmx8g"})
public class OrtComparisonBenchmark {

    @Param({"ResNet50", "DemoCNN", "ResNetStyle", "MobileNetStyle"})
    String model;

    @Param({"1", "8"})
    int batch;

    private ModelGraph fp32Graph;
    private QuantizedModel quantized;
    private INDArray input;
    private Path dir;
    private OrtEnvironment env;
    private OrtSession ortInt8;
    private OrtSession ortFp32;
    private OnnxTensor ortInput;
    private String ortInt8Input;
    private String ortFp32Input;

    @Setup
    public void setUp() throws IOException, OrtException {
        long[] shape = inputShape(model);
        Model net = network(model);
        quantized = quantize(net, shape);
        fp32Graph = net instanceof MultiLayerNetwork m ? Dl4jConverter.convert(m)
                : Dl4jConverter.convert((ComputationGraph) net);
        Nd4j.getRandom().setSeed(2);
        input = Nd4j.rand(DataType.FLOAT, batchShape(shape, batch));
        quantized.outputs(QuantizedModel.Execution.INT8, input); // fails here, not in the benchmark, without int8

        dir = Files.createTempDirectory("q4j-ort-");
        Path int8File = dir.resolve(model + "-int8.onnx");
        Path fp32File = dir.resolve(model + "-fp32.onnx");
        quantized.exportOnnx(int8File.toFile(), OnnxExport.Form.QDQ);
        OnnxExport.write(fp32Graph.graph(), List.of(), fp32Graph.inputs(), fp32Graph.outputs(), OnnxExport.Form.QDQ,
                fp32File);
        env = OrtEnvironment.getEnvironment();
        ortInt8 = session(int8File);
        ortFp32 = session(fp32File);
        ortInt8Input = ortInt8.getInputNames().iterator().next();
        ortFp32Input = ortFp32.getInputNames().iterator().next();
        ortInput = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.dup('c').data().asFloat()), input.shape());
        System.out.printf("%n%s batch %d: quant4j %s; ONNX Runtime int8 %s, fp32 %s; %d threads%n", model, batch,
                quantized.int8Network().summary(input.shape()), int8File.getFileName(), fp32File.getFileName(),
                threads());
    }

    /** The threads each runtime is given: {@code -Dq4j.threads}, default 2. */
    static int threads() {
        return Integer.getInteger("q4j.threads", 2);
    }

    private OrtSession session(Path file) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setIntraOpNumThreads(threads());
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            return env.createSession(file.toString(), options);
        }
    }

    /** One image's shape (CHW) of each network. */
    static long[] inputShape(String model) {
        return switch (model) {
            case "ResNet50" -> new long[] {3, 224, 224};
            case "DemoCNN", "ResNetStyle", "MobileNetStyle" -> new long[] {1, 28, 28};
            default -> throw new IllegalArgumentException("unknown model '" + model
                    + "' (ResNet50, DemoCNN, ResNetStyle or MobileNetStyle)");
        };
    }

    private static long[] batchShape(long[] image, int batch) {
        return new long[] {batch, image[0], image[1], image[2]};
    }

    /** The network of that name (see the class comment for the weights). */
    static Model network(String model) throws IOException {
        return switch (model) {
            case "ResNet50" -> {
                ZooModel<?> zoo = ZooInferenceBenchmark.zooModel("ResNet50");
                yield ZooInferenceBenchmark.initialized(zoo);
            }
            case "DemoCNN" -> {
                MultiLayerNetwork net = new MultiLayerNetwork(FashionCnn.configuration());
                net.init();
                yield net;
            }
            case "ResNetStyle" -> reference(ReferenceNetwork.RESNET_FASHION);
            case "MobileNetStyle" -> reference(ReferenceNetwork.MOBILENET_FASHION);
            default -> throw new IllegalArgumentException("unknown model '" + model + "'");
        };
    }

    /** The trained network from {@code models/} (directory {@code -Dq4j.models}), or a randomly initialized one. */
    private static Model reference(ReferenceNetwork ref) throws IOException {
        File file = new File(System.getProperty("q4j.models", "models"), ref.fileName());
        Object conf = ref.configuration();
        if (file.isFile()) {
            return conf instanceof ComputationGraphConfiguration ? ModelSerializer.restoreComputationGraph(file, false)
                    : ModelSerializer.restoreMultiLayerNetwork(file, false);
        }
        System.out.println(file + " not found: " + ref.id() + " with random weights");
        return ref.untrained();
    }

    /** Quantized with the default options, calibrated on two batches of 4 uniform random images (seed 1). */
    static QuantizedModel quantize(Model net, long[] image) {
        Nd4j.getRandom().setSeed(1);
        List<DataSet> calibration = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, batchShape(image, 4));
            INDArray labels = net instanceof MultiLayerNetwork m ? m.output(x, false)
                    : ((ComputationGraph) net).outputSingle(false, x);
            calibration.add(new DataSet(x, labels));
        }
        return net instanceof MultiLayerNetwork m ? Quantizer.quantize(m, new ListDataSetIterator<>(calibration, 1))
                : Quantizer.quantize((ComputationGraph) net, new ListDataSetIterator<>(calibration, 1));
    }

    @TearDown
    public void tearDown() throws OrtException, IOException {
        ortInput.close();
        ortInt8.close();
        ortFp32.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Benchmark
    public void quant4jInt8(Blackhole bh) {
        bh.consume(quantized.outputs(QuantizedModel.Execution.INT8, input));
    }

    @Benchmark
    public void ortInt8(Blackhole bh) throws OrtException {
        try (OrtSession.Result r = ortInt8.run(Map.of(ortInt8Input, ortInput))) {
            bh.consume(((OnnxTensor) r.get(0)).getFloatBuffer());
        }
    }

    @Benchmark
    public void ortFp32(Blackhole bh) throws OrtException {
        try (OrtSession.Result r = ortFp32.run(Map.of(ortFp32Input, ortInput))) {
            bh.consume(((OnnxTensor) r.get(0)).getFloatBuffer());
        }
    }

    @Benchmark
    public void sameDiffFp32(Blackhole bh) {
        bh.consume(GraphExecution.output(fp32Graph.graph(), Map.of(fp32Graph.inputs().get(0).name(), input),
                fp32Graph.outputs()));
    }
}
