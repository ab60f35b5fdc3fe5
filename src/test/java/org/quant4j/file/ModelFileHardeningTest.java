package org.quant4j.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.graph.FlatGraph;
import org.nd4j.graph.FlatVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.options.ArrayOptionsHelper;
import org.nd4j.linalg.api.shape.options.ArrayType;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.Granularity;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.file.ModelZips.Entry;

/**
 * The model file against hostile and damaged files: bounded inflation (zip bombs), only the two entries each once,
 * metadata checked on its own and against the graph, and legitimate variants (other entry order, stored entries,
 * other networks and options) still loading.
 */
class ModelFileHardeningTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static QuantizedModel model;
    static byte[] file;
    static byte[] metadata;
    static byte[] graph;
    static INDArray x;

    @TempDir
    Path tmp;

    @BeforeAll
    static void quantize() throws IOException {
        model = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 2, 8));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        model.save(out);
        file = out.toByteArray();
        metadata = ModelZips.entry(file, "quant4j.json");
        graph = ModelZips.entry(file, "graph.fb");
        Nd4j.getRandom().setSeed(4);
        x = Nd4j.rand(DataType.FLOAT, 2, 784);
    }

    private static QuantizationException refused(byte[] bytes) {
        return assertThrows(QuantizationException.class, () -> QuantizedModel.load(new ByteArrayInputStream(bytes)));
    }

    private static void assertMentions(QuantizationException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
        }
    }

    @Test
    void aZipBombOfAGraphIsRefusedAfter64MiB() {
        // 1.5 GiB of zeros deflate to 7 MB at the fastest level (1.6 MB at the default one).
        byte[] bomb = ModelZips.zipWithFill(List.of(new Entry("quant4j.json", metadata), new Entry("graph.fb", graph)),
                1, 1536L << 20, (byte) 0);
        assertTrue(bomb.length < 8 << 20, "the bomb is small: " + bomb.length);
        QuantizationException e = refused(bomb);
        assertMentions(e, "the stream is not a readable quant4j model: its entry graph.fb inflates to more than 100"
                + " times its compressed size", "past 64 MiB");
    }

    @Test
    void metadataBeyond64MiBIsRefusedWhateverItsCompression() {
        byte[] spaces = ModelZips.zipWithFill(List.of(new Entry("quant4j.json", metadata), new Entry("graph.fb",
                graph)), 0, 65L << 20, (byte) ' ');
        QuantizationException e = refused(spaces);
        assertMentions(e, "its entry quant4j.json inflates to more than 64 MiB, the most a model's quant4j.json may"
                + " hold");
    }

    @Test
    void anIncompressibleGraphPast64MiBIsReadWholeNotRefusedForItsSize() throws IOException {
        // 72 MiB stored at ratio 1: within every limit, so the refusal comes from the graph's content.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Random random = new Random(1);
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.setLevel(0);
            zip.putNextEntry(new ZipEntry("quant4j.json"));
            zip.write(metadata);
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry("graph.fb"));
            byte[] block = new byte[1 << 20];
            for (int i = 0; i < 72; i++) {
                random.nextBytes(block);
                zip.write(block);
            }
            zip.closeEntry();
        }
        QuantizationException e = refused(bytes.toByteArray());
        assertMentions(e, "the stream: its graph (graph.fb) is damaged");
    }

    @Test
    void onlyTheTwoEntriesEachOnceAreAccepted() {
        Entry json = new Entry("quant4j.json", metadata);
        Entry fb = new Entry("graph.fb", graph);
        assertMentions(refused(ModelZips.zip(List.of(json, fb, fb))), "the stream",
                "holds the entry graph.fb twice");
        assertMentions(refused(ModelZips.zip(List.of(json, json, fb))), "holds the entry quant4j.json twice");
        assertMentions(refused(ModelZips.zip(List.of(json, new Entry("notes.txt", new byte[] {1}), fb))),
                "the stream is not a quant4j model: it holds an entry 'notes.txt', and a model holds only"
                        + " quant4j.json and graph.fb");
        assertMentions(refused(ModelZips.zip(List.of(json, new Entry("GRAPH.FB", graph)))), "'GRAPH.FB'");
        assertMentions(refused(ModelZips.zip(List.of(json))), "lacks graph.fb");
    }

    @Test
    void entriesInTheOtherOrderOrStoredLoadTheSameModel() throws IOException {
        INDArray expected = model.output(x);
        for (byte[] variant : List.of(
                ModelZips.zip(List.of(new Entry("graph.fb", graph), new Entry("quant4j.json", metadata))),
                ModelZips.zip(List.of(new Entry("quant4j.json", metadata, true),
                        new Entry("graph.fb", graph, true))))) {
            assertEquals(expected, QuantizedModel.load(new ByteArrayInputStream(variant)).output(x));
        }
    }

    @Test
    void aGraphArrayWhoseShapeInformationLiesIsRefusedBeforeSameDiffReadsIt() {
        // fc1/W:q is INT8 [288, 24]: shape information [rank 2, 288, 24, strides 24, 1, flags, ews 1, order 'c'].
        // A stride past the data crashed the JVM in libnd4j (SIGSEGV in an INT8 assign, found by the fuzz properties);
        // a huge rank made the reader allocate an array of 2 rank + 4 longs (OutOfMemoryError).
        assertMentions(refused(withGraphArrayValue("fc1/W:q", 3, 1 << 20)), "the stream: its graph (graph.fb) is"
                + " damaged: variable", "(fc1/W:q) has the stride 1048576 along axis 0 of its shape [288, 24] ('c'"
                + " order: 24)");
        assertMentions(refused(withGraphArrayValue("fc1/W:q", 0, 1 << 30)), "(fc1/W:q) has shape information of"
                + " rank 1073741824");
        assertMentions(refused(withGraphArrayValue("fc1/W:q", 1, 289)), "(fc1/W:q) has the shape [289, 24] of BYTE"
                + " (6936 bytes) but 6912 bytes of data");
        assertMentions(refused(withGraphArrayValue("fc1/W:q", 7, 'x')), "(fc1/W:q) has the order 120");
        // The flags of an empty array over data that is not: SameDiff would make the weights zeros.
        assertMentions(refused(withGraphArrayValue("fc1/W:q", 5, ArrayOptionsHelper.setOptionBit(
                ArrayOptionsHelper.setOptionBit(0L, DataType.BYTE), ArrayType.EMPTY))), "(fc1/W:q) has the flags");
    }

    @Test
    void whatAWrittenGraphAsksOfTheReaderIsWithinItsBudget() {
        long claimed = GraphBufferCheck.check(ByteBuffer.wrap(graph));
        assertTrue(claimed > graph.length / 2 && claimed < 1.5 * graph.length, claimed + " bytes for a graph of "
                + graph.length + " (the budget: " + GraphBufferCheck.MAX_EXPANSION + " times)");
    }

    /** The model's file with value {@code index} of the shape information of {@code variable}'s array replaced. */
    private static byte[] withGraphArrayValue(String variable, int index, long value) {
        byte[] changed = graph.clone();
        ByteBuffer bytes = ByteBuffer.wrap(changed).order(ByteOrder.LITTLE_ENDIAN);
        FlatGraph g = FlatGraph.getRootAsFlatGraph(bytes);
        for (int i = 0; i < g.variablesLength(); i++) {
            FlatVariable v = g.variables(i);
            if (v.name().equals(variable)) {
                ByteBuffer shape = v.ndarray().shapeAsByteBuffer();
                bytes.putLong(shape.position() + Long.BYTES * index, value);
                return ModelZips.zip(List.of(new Entry("quant4j.json", metadata), new Entry("graph.fb", changed)));
            }
        }
        throw new AssertionError("no variable " + variable);
    }

    /** A hand edit of the metadata and the words its refusal must hold. */
    record Edit(String what, Consumer<ObjectNode> change, String expected) {
    }

    @Test
    void handEditedMetadataIsRefusedNamingTheInconsistency() throws IOException {
        List<Edit> edits = List.of(
                new Edit("an output renamed", m -> ((ArrayNode) m.get("outputs")).set(0, "nope"),
                        "output 'nope' is not a variable of the graph"),
                new Edit("an output made a constant", m -> ((ArrayNode) m.get("outputs")).set(0, "fc1/W:q"),
                        "output 'fc1/W:q' is not computed by the graph (it is a constant)"),
                new Edit("an input renamed", m -> input(m).put("name", "pixels"),
                        "input 'pixels' is not a placeholder of the graph"),
                new Edit("an input's shape changed", m -> ((ArrayNode) input(m).get("shape")).set(1, 785),
                        "input 'input' has the shape [-1, 785] but the graph's placeholder [-1, 784]"),
                new Edit("a layer output renamed", m -> ((ObjectNode) m.get("layerOutputs").get(0))
                        .put("variable", "gone"), "the output 'gone' of layer 'conv1' is not a variable of the graph"),
                new Edit("a scale zero", m -> scales(m, "relu1").set(2, 0.0),
                        "'relu1' (activation) has scale 0.0 for channel 2; scales are finite and greater than 0"),
                new Edit("a scale negative", m -> scales(m, "relu1").set(2, -0.5),
                        "'relu1' (activation) has scale -0.5 for channel 2"),
                new Edit("a scale NaN", m -> scales(m, "relu1").set(2, "NaN"),
                        "'relu1' (activation) has scale NaN for channel 2"),
                new Edit("a scale doubled", m -> scales(m, "relu1").set(0,
                        scales(m, "relu1").get(0).floatValue() * 2),
                        "does not match its graph (graph.fb): 'relu1' (activation) has"),
                new Edit("a per-channel scale dropped", m -> dropLastChannel(quantization(m, "relu1")),
                        "'relu1' (activation) has 5 scales, of the shape [1, 5, 1, 1], but the graph's 'relu1:scale'"
                                + " has the shape [1, 6, 1, 1]"),
                new Edit("a weight's scale dropped", m -> dropLastChannel(quantization(m, "conv2/W")),
                        "'conv2/W' (weights) has 7 scales but 8 channels along axis 0 in the graph"),
                new Edit("an input scale changed", m -> ((ArrayNode) quantization(m, "conv2/W").get("inputScales"))
                        .set(0, 1.0), "'conv2/W' (weights) has 1.0 for channel 0 but the graph's 'conv2/W:inscale'"),
                new Edit("a huge rank", m -> quantization(m, "relu1").put("rank", Integer.MAX_VALUE),
                        "'relu1' (activation) has rank 2147483647 (0 to 32)"),
                new Edit("9 bits", m -> grid(m, "relu1").put("bits", 9),
                        "'relu1' (activation) has 9-bit levels; quant4j supports 2..8 bits"),
                new Edit("4 bits under 8-bit options", m -> grid(m, "relu1").put("bits", 4),
                        "'relu1' (activation) has 4-bit levels but the options give activations 8 bits"),
                new Edit("an unsigned activation made signed", m -> grid(m, "relu1").put("signed", true),
                        "'relu1' (activation) has the grid -127..127 (8 bits, signed) but the graph clips 'relu1:q'"
                                + " to [0.0, 255.0]"),
                new Edit("weights made unsigned", m -> grid(m, "conv2/W").put("signed", false),
                        "'conv2/W' (weights) is on the unsigned grid"),
                new Edit("an activation renamed", m -> quantization(m, "relu1").put("tensor", "relu9"),
                        "'conv2/W' (weights) multiplies 'relu1', which is not a quantized activation of this model"),
                new Edit("an activation renamed where it is read too", m -> {
                    quantization(m, "relu1").put("tensor", "relu9");
                    quantization(m, "conv2/W").put("input", "relu9");
                }, "'relu9' (activation) is not a variable of the graph"),
                new Edit("a weight renamed", m -> quantization(m, "conv2/W").put("tensor", "conv9/W"),
                        "'conv9/W' (weights) has no integer levels 'conv9/W:q' in the graph"),
                new Edit("a quantization twice", m -> ((ArrayNode) m.get("quantizations"))
                        .add(quantization(m, "relu1").deepCopy()), "'relu1' is quantized twice"),
                new Edit("a consumer renamed", m -> ((ArrayNode) quantization(m, "relu1").get("consumers"))
                        .set(0, "nope"), "'relu1' (activation) is read by the ops [nope] but in the graph"
                                + " 'relu1:fq' is read by [maxpool2d]"),
                new Edit("a weight's input renamed", m -> quantization(m, "conv2/W").put("input", "nope"),
                        "'conv2/W' (weights) multiplies 'nope', which is not a quantized activation of this model"),
                new Edit("unresolved weight bits", m -> ((ObjectNode) m.get("options")).put("weightBits", 0),
                        "options.weightBits is 0"),
                new Edit("12 activation bits", m -> ((ObjectNode) m.get("options")).put("activationBits", 12),
                        "its quant4j.json is damaged"),
                new Edit("format version 0", m -> m.put("version", 0), "format version 0"),
                new Edit("no quantizations", m -> m.remove("quantizations"), "it lacks the quantizations"),
                new Edit("no report", m -> m.putNull("report"), "it lacks the report"));
        List<String> failures = new ArrayList<>();
        for (Edit edit : edits) {
            ObjectNode m = (ObjectNode) JSON.readTree(metadata);
            edit.change().accept(m);
            byte[] bytes = ModelZips.zip(List.of(new Entry("quant4j.json", m.toString().getBytes(
                    StandardCharsets.UTF_8)), new Entry("graph.fb", graph)));
            try {
                QuantizedModel.load(new ByteArrayInputStream(bytes));
                failures.add(edit.what() + ": loaded");
            } catch (QuantizationException e) {
                if (!e.getMessage().startsWith("the stream") || !e.getMessage().contains(edit.expected())) {
                    failures.add(edit.what() + ": " + e.getMessage());
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void aFilesErrorsNameTheFile() throws IOException {
        ObjectNode m = (ObjectNode) JSON.readTree(metadata);
        ((ArrayNode) m.get("outputs")).set(0, "nope");
        Path edited = tmp.resolve("edited.q4j");
        Files.write(edited, ModelZips.zip(List.of(new Entry("quant4j.json", m.toString().getBytes(
                StandardCharsets.UTF_8)), new Entry("graph.fb", graph))));
        QuantizationException e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(
                edited.toFile()));
        assertEquals(edited + ": its quant4j.json does not match its graph (graph.fb): output 'nope' is not a"
                + " variable of the graph", e.getMessage());
    }

    @Test
    void otherNetworksAndOptionsStillLoad() throws IOException {
        // Per-tensor scales (scalar constants in the graph), 4-bit levels, a residual graph with a merge.
        QuantizedModel perTensor = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 2,
                8), QuantizationOptions.builder().granularity(Granularity.PER_TENSOR).weightBits(4).activationBits(4)
                .build());
        assertRoundTrip(perTensor, x);
        Nd4j.getRandom().setSeed(6);
        assertRoundTrip(Quantizer.quantize(TestNetworks.residualGraph(), TestNetworks.randomIterator(8,
                new long[] {8, 2, 12, 12}, 4, 2, 3)), Nd4j.rand(DataType.FLOAT, 2, 2, 12, 12));
    }

    /**
     * A model with zero points (the leaky ReLU's and tanh's points): saved and loaded to the same quantizations and
     * outputs; its zero points checked on load like its scales: against the graph's {@code t:zp}, present in both or
     * neither, on the unsigned grid, within it.
     */
    @Test
    void zeroPointsSurviveSaveAndLoadAndAreChecked() throws IOException {
        QuantizedModel zp = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 2, 8),
                QuantizationOptions.builder().activationZeroPoints(org.quant4j.ZeroPoints.ON).build());
        String point = zp.quantizations().stream().filter(t -> t.hasZeroPoints() && t.scales().length > 1)
                .map(t -> t.tensor()).findFirst().orElseThrow(() -> new AssertionError(
                        "no per-channel point with zero points: " + zp.quantizations()));
        assertRoundTrip(zp, x);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        zp.save(out);
        byte[] zpMetadata = ModelZips.entry(out.toByteArray(), "quant4j.json");
        byte[] zpGraph = ModelZips.entry(out.toByteArray(), "graph.fb");
        int first = (int) JSON.readTree(zpMetadata).get("quantizations").findValues("zeroPoints").stream()
                .filter(n -> n.size() > 0).findFirst().orElseThrow().get(0).asInt();
        List<Edit> edits = List.of(
                new Edit("a zero point moved", m -> ((ArrayNode) quantization(m, point).get("zeroPoints"))
                        .set(0, first == 0 ? 1 : first - 1), "'" + point + "' (activation) has "
                        + (first == 0 ? 1 : first - 1) + ".0 for channel 0 but the graph's '" + point + ":zp'"),
                new Edit("zero points dropped", m -> quantization(m, point).putArray("zeroPoints"),
                        "'" + point + "' (activation) has no zero points but the graph holds '" + point + ":zp'"),
                new Edit("a zero point off the grid", m -> ((ArrayNode) quantization(m, point).get("zeroPoints"))
                        .set(0, 256), "zero point 256 outside the grid 0..255"),
                new Edit("zero points on weights", m -> quantization(m, "conv2/W").putArray("zeroPoints").add(0),
                        "zero points are for activations on the unsigned grid"));
        List<String> failures = new ArrayList<>();
        for (Edit edit : edits) {
            ObjectNode m = (ObjectNode) JSON.readTree(zpMetadata);
            edit.change().accept(m);
            byte[] bytes = ModelZips.zip(List.of(new Entry("quant4j.json", m.toString().getBytes(
                    StandardCharsets.UTF_8)), new Entry("graph.fb", zpGraph)));
            try {
                QuantizedModel.load(new ByteArrayInputStream(bytes));
                failures.add(edit.what() + ": loaded");
            } catch (QuantizationException e) {
                if (!e.getMessage().startsWith("the stream") || !e.getMessage().contains(edit.expected())) {
                    failures.add(edit.what() + ": " + e.getMessage());
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    private static void assertRoundTrip(QuantizedModel q, INDArray input) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        q.save(out);
        QuantizedModel loaded = QuantizedModel.load(new ByteArrayInputStream(out.toByteArray()));
        assertEquals(q.output(input), loaded.output(input));
        assertEquals(q.quantizations(), loaded.quantizations());
    }

    private static ObjectNode input(ObjectNode m) {
        return (ObjectNode) m.get("inputs").get(0);
    }

    private static ObjectNode quantization(ObjectNode m, String tensor) {
        for (JsonNode q : m.get("quantizations")) {
            if (q.get("tensor").asText().equals(tensor)) {
                return (ObjectNode) q;
            }
        }
        throw new AssertionError("no quantization of " + tensor);
    }

    private static ArrayNode scales(ObjectNode m, String tensor) {
        return (ArrayNode) quantization(m, tensor).get("scales");
    }

    private static ObjectNode grid(ObjectNode m, String tensor) {
        return (ObjectNode) quantization(m, tensor).get("grid");
    }

    private static void dropLastChannel(ObjectNode q) {
        for (String field : List.of("scales", "lo", "hi")) {
            ArrayNode a = (ArrayNode) q.get(field);
            a.remove(a.size() - 1);
        }
    }
}
