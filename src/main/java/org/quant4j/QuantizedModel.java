package org.quant4j;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.convert.Dl4jLayers;
import org.quant4j.file.ModelFile;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.NonFiniteRows;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.io.AtomicFiles;
import org.quant4j.quantize.GraphRunner;
import org.quant4j.quantize.QuantizedNetwork;
import org.quant4j.report.QuantizationReport;
import org.quant4j.runtime.Int8Network;

/**
 * A quantized network: the fake-quant SameDiff graph (integer weights, simulated integer activations), the
 * quantization parameters of every tensor and the report of how it was made.
 *
 * <p>File format ({@link #save(OutputStream)}, {@link #load(InputStream)}; {@link #save(File)} and
 * {@link #load(File)} write and read the same bytes): a zip holding {@code quant4j.json} (format name and version,
 * inputs, outputs, options, every tensor's quantization, the report) and {@code graph.fb} (the SameDiff graph as
 * FlatBuffers, weights stored as INT8); a model in parts ({@link #fp32Layers()} not empty) as a zip of its parts, the
 * quantized ones in that form and the DL4J layers as DL4J's configuration JSON and parameters
 * ({@code file.PartsFile}). Saving to a file is atomic: a temporary file beside the target is renamed
 * over it; when saving fails, no file is left at the target (an existing one is left as it was) nor beside it.
 *
 * <p>Determinism: the same model, calibration data and options give byte-identical files, in any run, process
 * and time zone: zip entries carry a fixed time, the JSON's properties are in declaration order and its maps and
 * sets sorted, and the measured timings of the report ({@code calibrationMillis}, {@code solveMillis}) are not
 * stored (a loaded model's report gives -1 for them; the in-memory model that {@code Quantizer} returns keeps
 * them).
 *
 * <p>{@link #output} is thread-safe.
 */
public final class QuantizedModel {

    /** The file format's name, first field of the metadata ({@link ModelFile}). */
    public static final String FORMAT = ModelFile.FORMAT;
    /** The newest format version this code writes and reads. */
    public static final int FORMAT_VERSION = ModelFile.FORMAT_VERSION;

    /** How a quantized model computes its outputs. */
    public enum Execution {
        /** Integer arithmetic through oneDNN's int8 kernels: the fast path, where the network is supported. */
        INT8,
        /** The fake-quant SameDiff graph: simulated integer arithmetic, any network, any ND4J backend. */
        FAKE_QUANT
    }

    /** A layer that runs in DL4J, in fp32, in a model quantized in parts (see {@link #fp32Layers()}). */
    public record Fp32Layer(int index, String name, String type) {
        @Override
        public String toString() {
            return "layer " + index + " '" + name + "' (" + type + ")";
        }
    }

    /**
     * One step of a model quantized in parts: a quantized part (a model of its own) or DL4J layers kept in fp32.
     * Each step reads the previous step's single output.
     */
    private record Step(QuantizedModel quantized, Dl4jLayers fp32) {
        INDArray run(INDArray x, long miniBatch, Execution execution) {
            if (fp32 != null) {
                return fp32.output(x, miniBatch);
            }
            return execution == null ? quantized.output(x) : quantized.outputs(execution, x)[0];
        }
    }

    /** The graph; null for a model in parts, whose steps are {@link #steps}. */
    private final ModelGraph graph;
    /** The steps of a model quantized in parts, else null. */
    private final List<Step> steps;
    /** The input of a model in parts (its first step's), else null. */
    private final TensorSpec stepsInput;
    private final QuantizationOptions options;
    private final List<TensorQuantization> quantizations;
    private final QuantizationReport report;
    /** Runs the graph (int8 plans, the fake-quant graph); null for a model in parts. */
    private final GraphRunner runner;
    private int maxPlans = Int8Network.DEFAULT_MAX_PLANS;

    QuantizedModel(ModelGraph graph, QuantizationOptions options, List<TensorQuantization> quantizations,
            QuantizationReport report) {
        this.graph = graph;
        this.steps = null;
        this.stepsInput = null;
        this.options = options;
        this.quantizations = List.copyOf(quantizations);
        this.report = report;
        this.runner = new GraphRunner(graph, this.quantizations);
    }

    private QuantizedModel(List<Step> steps, TensorSpec input, QuantizationOptions options,
            List<TensorQuantization> quantizations, QuantizationReport report) {
        this.graph = null;
        this.steps = List.copyOf(steps);
        this.stepsInput = input;
        this.options = options;
        this.quantizations = List.copyOf(quantizations);
        this.report = report;
        this.runner = null;
    }

    /** The model of what the pipeline made: one graph, or parts (quantized graphs and DL4J layers kept in fp32). */
    static QuantizedModel of(QuantizedNetwork network) {
        if (network instanceof QuantizedNetwork.Whole whole) {
            return new QuantizedModel(whole.graph(), whole.options(), whole.quantizations(), whole.report());
        }
        QuantizedNetwork.InParts inParts = (QuantizedNetwork.InParts) network;
        List<Step> steps = new ArrayList<>();
        for (Object part : inParts.parts()) {
            steps.add(part instanceof QuantizedNetwork.Whole q ? new Step(of(q), null) : new Step(null, (Dl4jLayers) part));
        }
        return new QuantizedModel(steps, inParts.input(), inParts.options(), inParts.quantizations(),
                inParts.report());
    }

    /**
     * The layers that run in DL4J in fp32 because the converter does not support them
     * ({@link QuantizationOptions#keepUnsupportedLayersFp32}); empty for a model that is one quantized graph.
     */
    public List<Fp32Layer> fp32Layers() {
        if (steps == null) {
            return List.of();
        }
        return steps.stream().filter(s -> s.fp32() != null).flatMap(s -> s.fp32().layers().stream())
                .map(l -> new Fp32Layer(l.index(), l.name(), l.type())).toList();
    }

    /** The output of a model in parts: each step in turn, quantized parts by {@code execution} (null: their default). */
    private INDArray[] runSteps(Execution execution, INDArray[] inputs) {
        INDArray x = InputFeed.of(List.of(stepsInput), inputs, "input").get(stepsInput.name());
        long miniBatch = x.size(0);
        long[] nonFinite = NonFiniteRows.of(new INDArray[] {x});
        for (Step step : steps) {
            x = step.run(x, miniBatch, execution);
        }
        INDArray[] result = {x};
        NonFiniteRows.poison(result, nonFinite, miniBatch);
        return result;
    }

    /**
     * The first (for most networks: the only) output for the given inputs, one array per network input: in
     * integer arithmetic where the network is supported by the int8 runtime, else from the fake-quant graph
     * (see {@link #execution()}). With an input normalizer built in ({@link QuantizationOptions#inputNormalization})
     * the inputs are raw data, as before the normalizer.
     */
    public INDArray output(INDArray... inputs) {
        return outputs(inputs)[0];
    }

    /**
     * All outputs for the given inputs, in the order of {@link #outputNames()}.
     *
     * <p>The inputs are checked first ({@link InputFeed}): their number, rank and every size the network fixes;
     * integer arrays are cast to FLOAT, views copied; an empty batch is refused. An example holding a NaN or an
     * infinite value gets NaN in every output, as in DL4J. A batch of N examples gives N output rows, or an error
     * naming the input's shape (an image size the network cannot take).
     *
     * <p>Integer execution runs a plan per set of input shapes (at most {@link #maxPlans()} kept); when the plan
     * for a shape cannot be built, calls with that shape run the fake-quant graph, a warning is logged once, and
     * {@link #int8Fallbacks()} gives the shape and the reason; other shapes keep integer execution.
     */
    public INDArray[] outputs(INDArray... inputs) {
        return steps != null ? runSteps(null, inputs) : runner.outputs(inputs);
    }

    /** The outputs computed by {@code execution}; INT8 fails when the network has no integer execution here. */
    public INDArray[] outputs(Execution execution, INDArray... inputs) {
        if (steps != null) {
            return runSteps(execution, inputs);
        }
        return execution == Execution.FAKE_QUANT ? runner.fakeQuantOutputs(inputs) : runner.int8Outputs(inputs);
    }

    /**
     * How {@link #output} computes, as far as known (INT8 is confirmed on the first call). A model in parts is INT8
     * when every quantized part is (its fp32 layers run in DL4J either way).
     */
    public synchronized Execution execution() {
        if (steps != null) {
            return steps.stream().anyMatch(s -> s.quantized() != null
                    && s.quantized().execution() == Execution.FAKE_QUANT) ? Execution.FAKE_QUANT : Execution.INT8;
        }
        return runner.int8Unavailable() == null ? Execution.INT8 : Execution.FAKE_QUANT;
    }

    /**
     * The integer runtime, once a call has compiled it (the first {@link #output} does), else null: for diagnosis
     * ({@link Int8Network#trace}, {@link Int8Network#summary}). Null for a model in parts, which has one per
     * quantized part.
     */
    public synchronized Int8Network int8Network() {
        return runner == null ? null : runner.int8Network();
    }

    /** Why integer execution is not used, or null (for a model in parts: each quantized part's reason). */
    public synchronized String int8Unavailable() {
        if (steps != null) {
            List<String> reasons = new ArrayList<>();
            for (Step s : steps) {
                if (s.quantized() != null && s.quantized().int8Unavailable() != null) {
                    reasons.add("part " + s.quantized().graph.layerOutputs().stream().map(ModelGraph.LayerOutput::layer)
                            .toList() + ": " + s.quantized().int8Unavailable());
                }
            }
            return reasons.isEmpty() ? null : String.join("; ", reasons);
        }
        return runner.int8Unavailable();
    }

    /**
     * Sets how many integer plans (one per set of input shapes: a batch size, an image size) this model keeps, at
     * least 1, default {@value Int8Network#DEFAULT_MAX_PLANS}. A call with a new shape beyond them evicts the least
     * recently used plan and releases its native memory; a server that sees many batch sizes bounds its memory so.
     * For a model in parts, every quantized part keeps as many.
     */
    public synchronized void maxPlans(int plans) {
        if (plans < 1) {
            throw new IllegalArgumentException("maxPlans must be at least 1, got " + plans);
        }
        maxPlans = plans;
        if (runner != null) {
            runner.maxPlans(plans);
        } else {
            steps.stream().filter(s -> s.quantized() != null).forEach(s -> s.quantized().maxPlans(plans));
        }
    }

    /** How many integer plans this model keeps at most (see {@link #maxPlans(int)}). */
    public synchronized int maxPlans() {
        return maxPlans;
    }

    /**
     * The input shapes (among the most recent {@link #maxPlans()}) for which integer execution fell back to the
     * fake-quant graph, each with the reason; empty when none did (or integer execution is off altogether: see
     * {@link #int8Unavailable()}).
     */
    public synchronized List<Int8Network.Fallback> int8Fallbacks() {
        if (steps != null) {
            return steps.stream().filter(s -> s.quantized() != null)
                    .flatMap(s -> s.quantized().int8Fallbacks().stream()).toList();
        }
        return runner.fallbacks();
    }

    /**
     * Classification accuracy and more (DL4J's {@link Evaluation}) over a labelled data set (raw data when an input
     * normalizer is built in).
     */
    public Evaluation evaluate(DataSetIterator data) {
        Evaluation evaluation = new Evaluation();
        if (data.resetSupported()) {
            data.reset();
        }
        while (data.hasNext()) {
            DataSet batch = data.next();
            evaluation.eval(batch.getLabels(), output(batch.getFeatures()));
        }
        return evaluation;
    }

    public List<String> outputNames() {
        if (steps != null) {
            Step last = steps.get(steps.size() - 1);
            return last.fp32() != null ? List.of(last.fp32().layers().get(last.fp32().layers().size() - 1).name())
                    : last.quantized().outputNames();
        }
        return graph.outputs();
    }

    public List<TensorSpec> inputs() {
        return steps != null ? List.of(stepsInput) : graph.inputs();
    }

    public QuantizationOptions options() {
        return options;
    }

    /** How every quantized tensor is quantized. */
    public List<TensorQuantization> quantizations() {
        return quantizations;
    }

    /** What was done, with per-layer SQNR. */
    public QuantizationReport report() {
        return report;
    }

    /**
     * The fake-quant graph itself (a copy: changing it does not change this model).
     *
     * @throws QuantizationException for a model in parts ({@link #fp32Layers()} not empty), which has no one graph
     */
    public SameDiff graph() {
        if (steps != null) {
            throw new QuantizationException("this model runs in parts, with " + fp32Layers()
                    + " in DL4J (fp32) between quantized graphs: it has no single graph");
        }
        return graph.graph().dup();
    }

    /**
     * Saves to {@code file} atomically ({@link AtomicFiles}): the model is written to a new file beside it, forced to
     * disk and renamed over it; when saving fails, the file is left as it was (absent, or the old model) and nothing
     * is left beside it. The file gets the permissions of any new file of this process (the umask applies). Its bytes
     * are those {@link #save(OutputStream)} writes.
     *
     * <p>A {@code file} that is a symbolic link is followed: the file it finally names is replaced (atomically, the
     * same way) and the link stays a link ({@code model.q4j -> v3.q4j}: {@code v3.q4j} gets the model). A dangling
     * link creates the file it names, in a directory that must exist. Any legal file name saves, up to 255 bytes:
     * the temporary file's name is shortened to fit.
     *
     * @throws NoSuchFileException   when the directory to save into does not exist
     * @throws QuantizationException when the model runs in parts and a layer kept in fp32 is not one of DL4J's own
     *                               classes (a user's layer: a file names DL4J's classes only); nothing written
     */
    public void save(File file) throws IOException {
        Path target = file.toPath().toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NoSuchFileException(target.toString(), null, "the directory to save into does not exist");
        }
        AtomicFiles.writeStream(target, out -> save(out));
    }

    /**
     * Writes the model to {@code out} in the quant4j file format (a zip, see the class comment): the same bytes as
     * {@link #save(File)}, for any model, process and time. {@code out} is flushed, not closed: the caller closes it.
     *
     * @throws QuantizationException when the model runs in parts and a layer kept in fp32 is not one of DL4J's own
     *                               classes (a user's layer: a file names DL4J's classes only); nothing written
     */
    public void save(OutputStream out) throws IOException {
        synchronized (this) {
            QuantizationListener listener = QuantizationPhases.current();
            long start = System.nanoTime();
            if (listener != null) {
                listener.started(QuantizationListener.Phase.SAVE);
            }
            try {
                ModelFile.write(network(), out);
            } finally {
                if (listener != null) {
                    listener.finished(QuantizationListener.Phase.SAVE, System.nanoTime() - start);
                }
            }
        }
    }

    /** What this model is, as the file format stores it: one graph, or its steps as parts. */
    private QuantizedNetwork network() {
        if (steps == null) {
            return new QuantizedNetwork.Whole(graph, options, quantizations, report);
        }
        List<Object> parts = new ArrayList<>();
        for (Step step : steps) {
            parts.add(step.fp32() != null ? step.fp32() : step.quantized().network());
        }
        return new QuantizedNetwork.InParts(parts, stepsInput, options, quantizations, report);
    }

    /**
     * Writes the model as an ONNX graph (opset 13, QDQ form) to {@code file}, atomically ({@link AtomicFiles}): every
     * quantization point as QuantizeLinear/DequantizeLinear, int8 weights with a scale per output channel, int32
     * biases, and the activation scales folded so that each quantized convolution and dense layer reads a per-tensor
     * input: ONNX Runtime runs them on its integer kernels (QLinearConv, QGemm, ConvInteger, MatMulInteger). The
     * model is not changed.
     *
     * @throws org.quant4j.onnx.OnnxExportException when an op has no ONNX form (the message names it), or a point has
     *                                              other than 8-bit levels; nothing is written
     * @throws QuantizationException                when the model runs in parts ({@code keepUnsupportedLayersFp32})
     */
    public void exportOnnx(File file) throws IOException {
        exportOnnx(file, org.quant4j.onnx.OnnxExport.Form.QDQ);
    }

    /**
     * {@link #exportOnnx(File)} in the given form: {@code QDQ} (the default: int32 biases, fused by ONNX Runtime into
     * QLinearConv/QGemm) or {@code EXACT} (integer accumulators with float scales and biases, quant4j's own
     * arithmetic); see {@link org.quant4j.onnx.OnnxExport.Form}.
     */
    public void exportOnnx(File file, org.quant4j.onnx.OnnxExport.Form form) throws IOException {
        requireOneGraph("cannot export " + file + " as ONNX");
        Path target = file.toPath().toAbsolutePath();
        if (target.getParent() == null || !Files.isDirectory(target.getParent())) {
            throw new NoSuchFileException(target.toString(), null, "the directory to write into does not exist");
        }
        synchronized (this) {
            org.quant4j.onnx.OnnxExport.write(graph.graph(), quantizations, graph.inputs(), graph.outputs(), form,
                    target);
        }
    }

    private void requireOneGraph(String what) {
        if (steps != null) {
            throw new QuantizationException(what + ": this model keeps " + fp32Layers()
                    + " in DL4J (fp32) between quantized graphs (keepUnsupportedLayersFp32), and an ONNX graph holds"
                    + " the quantized graph of a whole model; save it as a quant4j model instead (nothing was"
                    + " written)");
        }
    }

    /**
     * Loads a model written by {@link #save(File)}.
     *
     * @throws IOException           when the file cannot be read ({@link NoSuchFileException} when it does not exist)
     * @throws QuantizationException when it is not a quant4j model, is damaged or truncated, or comes from a newer
     *                               version; the message names the file and what is wrong
     */
    public static QuantizedModel load(File file) throws IOException {
        try (InputStream in = Files.newInputStream(file.toPath())) {
            return load(in, file.toString());
        }
    }

    /**
     * Loads a model written by {@link #save(OutputStream)} (or {@link #save(File)}) from {@code in}, which is read as
     * far as the model goes and not closed: the caller closes it.
     *
     * @throws IOException           when the stream cannot be read
     * @throws QuantizationException when the stream does not hold a quant4j model, holds a damaged or truncated one,
     *                               or one from a newer version; the message says which
     */
    public static QuantizedModel load(InputStream in) throws IOException {
        return load(in, "the stream");
    }

    /** Loads from {@code in}, naming {@code source} (a file's path, "the stream") in every error. */
    private static QuantizedModel load(InputStream in, String source) throws IOException {
        return of(ModelFile.read(in, source));
    }
}
