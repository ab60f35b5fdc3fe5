package org.quant4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.ZooModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.Normalizer;
import org.quant4j.AccuracyBudget;
import org.quant4j.BudgetedModel;
import org.quant4j.Calibration;
import org.quant4j.InputNormalization;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.InputNormalizationPass;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorSpec;

/**
 * The fp32 network named on the command line: a DL4J model file (ModelSerializer zip of a MultiLayerNetwork or a
 * ComputationGraph; which one is read from its configuration) or a DL4J zoo model name, built with random weights
 * from a seed for 1x28x28 inputs and 10 classes (the data sets quant4j reads).
 *
 * <p>A model file may hold the data normalizer the network was trained with ({@code ModelSerializer
 * .addNormalizerToModel}, entry {@code normalizer.bin}); it is read with the network, and then the network's
 * {@link #output} is DL4J's on the data normalized by it, and {@link #quantize}, {@link #calibrate} and {@link #graph}
 * build it into the quantized model ({@link QuantizationOptions.Builder#inputNormalization}): every command takes
 * the data raw, as before the normalizer. {@code resolve(..., false)} leaves it unread ({@code --no-normalizer}).
 *
 * @param name       as given on the command line
 * @param network    a MultiLayerNetwork or a ComputationGraph
 * @param normalizer the normalizer saved in the model file, or null: none, or ignored
 */
record Fp32Model(String name, Model network, Normalizer<?> normalizer) {

    /** The zoo models of DL4J M2.1 (org.deeplearning4j.zoo.model); not all of them convert yet. */
    static final List<String> ZOO = List.of("LeNet", "SimpleCNN", "AlexNet", "VGG16", "VGG19", "ResNet50",
            "SqueezeNet", "Darknet19", "TinyYOLO", "YOLO2", "UNet", "Xception", "InceptionResNetV1",
            "FaceNetNN4Small2", "NASNet");

    /** The zoo models' input: 1x28x28, the data sets quant4j reads. */
    static final int[] ZOO_INPUT = {1, 28, 28};

    /** A file when {@code spec} names an existing file, a zoo model when it is a zoo name, an error otherwise. */
    static Fp32Model resolve(String spec, long seed) throws IOException {
        return resolve(spec, seed, ZOO_INPUT);
    }

    /** {@link #resolve(String, long)}, a zoo model built for inputs of {@code zooInput} (channels, height, width). */
    static Fp32Model resolve(String spec, long seed, int[] zooInput) throws IOException {
        return resolve(spec, seed, zooInput, true);
    }

    /** {@link #resolve(String, long, int[])}; a file's normalizer is read only when {@code withNormalizer}. */
    static Fp32Model resolve(String spec, long seed, int[] zooInput, boolean withNormalizer) throws IOException {
        Path file = Path.of(spec);
        if (Files.isRegularFile(file)) {
            return load(file, withNormalizer);
        }
        for (String zoo : ZOO) {
            if (zoo.equalsIgnoreCase(spec)) {
                return zoo(zoo, seed, zooInput);
            }
        }
        if (Files.exists(file)) {
            throw new QuantizationException("model '" + spec + "' is not a regular file");
        }
        throw new NoSuchFileException(spec, null, "no such model file, and not a DL4J zoo model name (known: "
                + String.join(", ", ZOO) + ")");
    }

    /** Whether {@code spec} is a model file holding a normalizer (its zip has the entry {@code normalizer.bin}). */
    static boolean savesNormalizer(String spec) {
        Path file = Path.of(spec);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(file.toFile())) {
            return zip.getEntry(ModelSerializer.NORMALIZER_BIN) != null;
        } catch (IOException e) {
            return false;
        }
    }

    static Fp32Model load(Path file) throws IOException {
        return load(file, true);
    }

    static Fp32Model load(Path file, boolean withNormalizer) throws IOException {
        String configuration = null;
        boolean hasNormalizer = false;
        try (InputStream in = Files.newInputStream(file); ZipInputStream zip = new ZipInputStream(in)) {
            ZipEntry e;
            while ((e = zip.getNextEntry()) != null) {
                if (e.getName().equals("configuration.json")) {
                    configuration = new String(zip.readAllBytes(), StandardCharsets.UTF_8);
                }
                hasNormalizer |= e.getName().equals(ModelSerializer.NORMALIZER_BIN);
            }
        } catch (ZipException | java.io.EOFException e) {
            throw new QuantizationException(file + " is not a DL4J model file (not a zip: " + e.getMessage() + ")", e);
        }
        if (configuration == null) {
            throw new QuantizationException(file + " is not a DL4J model file (no configuration.json inside; "
                    + "expected a file written by ModelSerializer)");
        }
        Model net;
        try {
            net = configuration.contains("\"vertices\"")
                    ? ModelSerializer.restoreComputationGraph(file.toFile(), false)
                    : ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        } catch (IOException | RuntimeException e) {
            throw new QuantizationException(file + " is not a readable DL4J model: " + e.getMessage(), e);
        }
        return new Fp32Model(file.toString(), net, hasNormalizer && withNormalizer ? normalizer(file) : null);
    }

    private static Normalizer<?> normalizer(Path file) {
        try {
            return ModelSerializer.restoreNormalizerFromFile(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new QuantizationException(file + ": its normalizer (" + ModelSerializer.NORMALIZER_BIN
                    + ") is not readable: " + e.getMessage() + " (--no-normalizer leaves it unread)", e);
        }
    }

    /**
     * The normalizer as the affine map built into the quantized model, or null when there is none; an error naming
     * the class of a normalizer quant4j cannot build in.
     */
    InputNormalization normalization() {
        if (normalizer == null) {
            return null;
        }
        try {
            return InputNormalization.of(normalizer);
        } catch (QuantizationException e) {
            throw new QuantizationException(name + ": " + e.getMessage() + " (--no-normalizer ignores it: then give"
                    + " the data normalized)", e);
        }
    }

    /** One line saying which normalizer was found and how it is applied, or null when there is none. */
    String normalizerLine() {
        if (normalizer == null) {
            return null;
        }
        return "normalizer: " + normalization().description() + ", saved in " + name + ": applied to the data, which"
                + " is given raw (images: pixel values 0..255); the quantized model has it built in";
    }

    /** {@code raw} as the network takes it: normalized by the model's normalizer (a copy), or itself without one. */
    INDArray normalized(INDArray raw) {
        if (normalizer == null) {
            return raw;
        }
        INDArray x = raw.dup();
        ((DataNormalization) normalizer).transform(x);
        return x;
    }

    private static Fp32Model zoo(String name, long seed, int[] input) {
        try {
            Class<?> type = Class.forName("org.deeplearning4j.zoo.model." + name);
            Object builder = type.getMethod("builder").invoke(null);
            builder = builder.getClass().getMethod("numClasses", int.class).invoke(builder, 10);
            builder = builder.getClass().getMethod("seed", long.class).invoke(builder, seed);
            builder = builder.getClass().getMethod("inputShape", int[].class).invoke(builder, (Object) input.clone());
            ZooModel<?> zoo = (ZooModel<?>) builder.getClass().getMethod("build").invoke(builder);
            String size = input[0] + "x" + input[1] + "x" + input[2];
            return new Fp32Model(name + " (zoo, random weights, seed " + seed
                    + (Arrays.equals(input, ZOO_INPUT) ? "" : ", " + size + " inputs") + ")", zoo.init(), null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            Throwable cause = e instanceof java.lang.reflect.InvocationTargetException t ? t.getCause() : e;
            throw new QuantizationException("could not build zoo model " + name + " for " + input[0] + "x" + input[1]
                    + "x" + input[2] + " inputs: " + cause.getMessage(), cause);
        }
    }

    /** The network's output for a batch of raw data (normalized first when it has a normalizer), in inference mode. */
    INDArray output(INDArray features) {
        INDArray x = normalized(features);
        return network instanceof MultiLayerNetwork m ? m.output(x, false)
                : ((ComputationGraph) network).outputSingle(false, x);
    }

    /**
     * Calibrates the network on raw data (statistics only; {@link Calibration#quantize} then solves for any options
     * with the same normalization, {@link #options}).
     */
    Calibration calibrate(DataSetIterator calibration, QuantizationOptions options) {
        QuantizationOptions o = options(options);
        return network instanceof MultiLayerNetwork m ? Quantizer.calibrate(m, calibration, o)
                : Quantizer.calibrate((ComputationGraph) network, calibration, o);
    }

    /** Quantizes the network on raw calibration data, its normalizer (if any) built in. */
    QuantizedModel quantize(DataSetIterator calibration, QuantizationOptions options) {
        QuantizationOptions o = options(options);
        return network instanceof MultiLayerNetwork m ? Quantizer.quantize(m, calibration, o)
                : Quantizer.quantize((ComputationGraph) network, calibration, o);
    }

    /**
     * Quantizes the network dynamically ({@link Quantizer#quantizeDynamic}: no calibration data), recurrent layers
     * unrolled over {@code sequenceLength} steps (-1: none); its normalizer (if any) built in.
     */
    QuantizedModel quantizeDynamic(long sequenceLength, QuantizationOptions options) {
        QuantizationOptions o = options(options);
        return network instanceof MultiLayerNetwork m ? Quantizer.quantizeDynamic(m, sequenceLength, o)
                : Quantizer.quantizeDynamic((ComputationGraph) network, sequenceLength, o);
    }

    /**
     * Quantizes within an accuracy budget ({@link Quantizer#quantizeWithinBudget}) on raw calibration data, the
     * budget's metric reading raw validation data; the normalizer (if any) built in.
     */
    BudgetedModel quantizeWithinBudget(DataSetIterator calibration, QuantizationOptions options,
            AccuracyBudget budget) {
        QuantizationOptions o = options(options);
        return Quantizer.quantizeWithinBudget(calibrate(calibration, options), o, budget);
    }

    /** {@code options} with this model's normalizer as the input normalization. */
    QuantizationOptions options(QuantizationOptions options) {
        return options.withInputNormalization(normalization());
    }

    /** The fp32 SameDiff graph, taking raw data: the normalizer built in (for the report's statistics). */
    ModelGraph graph() {
        ModelGraph g = network instanceof MultiLayerNetwork m ? Dl4jConverter.convert(m)
                : Dl4jConverter.convert((ComputationGraph) network);
        InputNormalization n = normalization();
        if (n != null) {
            InputNormalizationPass.insert(g, n);
        }
        return g;
    }

    /** How many arrays the network takes: one for a MultiLayerNetwork, the graph's inputs for a ComputationGraph. */
    int inputCount() {
        return network instanceof MultiLayerNetwork ? 1
                : ((ComputationGraph) network).getConfiguration().getNetworkInputs().size();
    }

    /** How many arrays the network outputs: one for a MultiLayerNetwork, the graph's outputs for a ComputationGraph. */
    int outputCount() {
        return network instanceof MultiLayerNetwork ? 1
                : ((ComputationGraph) network).getConfiguration().getNetworkOutputs().size();
    }

    /**
     * The input a MultiLayerNetwork declares through its first layer (as the quantizer records it), or empty: for a
     * ComputationGraph, or when the first layer does not tell.
     */
    Optional<TensorSpec> declaredInput() {
        if (!(network instanceof MultiLayerNetwork m)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Dl4jConverter.inputSpec(m));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Each layer's name, as the quantizer names it ({@link Dl4jConverter#layerName}; a graph's vertex name), and its
     * type: the DL4J layer's class, or for a graph vertex that is not a layer the vertex's class.
     */
    Map<String, String> layerTypes() {
        Map<String, String> types = new LinkedHashMap<>();
        if (network instanceof MultiLayerNetwork m) {
            List<NeuralNetConfiguration> confs = m.getLayerWiseConfigurations().getConfs();
            for (int i = 0; i < confs.size(); i++) {
                Layer layer = confs.get(i).getLayer();
                types.put(Dl4jConverter.layerName(layer, i), layer.getClass().getSimpleName());
            }
        } else {
            ((ComputationGraph) network).getConfiguration().getVertices().forEach((name, vertex) ->
                    types.put(name, vertex instanceof LayerVertex lv
                            ? lv.getLayerConf().getLayer().getClass().getSimpleName()
                            : vertex.getClass().getSimpleName()));
        }
        return types;
    }

    String kind() {
        return network.getClass().getSimpleName().toLowerCase(Locale.ROOT);
    }
}
