package org.quant4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.file.ModelZips;
import org.quant4j.file.ModelZips.Entry;
import org.quant4j.quantize.FiniteValues;

/**
 * Fuzzing of the model file: two small real models ({@link TestNetworks#cnn()}, a MultiLayerNetwork, and
 * {@link TestNetworks#residualGraph()}, a ComputationGraph with an add and a merge; quantized with the default options)
 * are saved, their bytes are damaged in many ways, and each damaged file must either be refused by {@code load} with a
 * {@link QuantizationException} (or an {@link IOException}) whose message names the source, or load into a model whose
 * {@code output} on a valid input works: finite values, one row per example, or an exception (a graph damaged
 * in an op's arguments may parse, match its metadata and fail only when it runs, in ND4J's own checks). Any other
 * outcome fails the property: another exception from {@code load} (a NullPointerException, an ND4J exception), an
 * {@link Error} anywhere (an OutOfMemoryError), or the JVM dying in native code, which {@link CaseLog} makes
 * traceable to the case. The statistics jqwik prints after each property count the outcomes.
 *
 * <p>The damage: a byte of the file set to a random value; the file truncated; a byte (or a few) of an entry's
 * inflated content changed and the zip rewritten with valid checksums (what reaches the JSON and FlatBuffers
 * parsers); a field of the metadata edited (a name, a number, a scale, a list's element dropped or doubled); and
 * zip-level changes (an entry dropped, doubled, renamed, reordered, stored instead of deflated, replaced by random
 * bytes or the other entry's content, or by a zip bomb). The number of tries is jqwik's default, set for a run by
 * the configuration parameter {@code jqwik.tries.default}.
 */
@Tag("fuzz")
class ModelFileFuzzProperties {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SOURCE = "the stream";

    /** The models fuzzed: a CNN (MultiLayerNetwork) and a residual ComputationGraph (adds, a merge). */
    enum Subject {
        CNN, RESIDUAL_GRAPH;

        /** This model saved, its entries and a valid input; made at first use. */
        Saved saved() {
            return this == CNN ? Models.CNN : Models.RESIDUAL_GRAPH;
        }
    }

    /** A saved model's file, its two entries, and an input of three examples. */
    record Saved(byte[] file, byte[] metadata, byte[] graph, INDArray input) {
        static Saved of(QuantizedModel model, INDArray input) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                model.save(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            byte[] file = out.toByteArray();
            return new Saved(file, ModelZips.entry(file, "quant4j.json"), ModelZips.entry(file, "graph.fb"), input);
        }

        List<Entry> entries() {
            return new ArrayList<>(List.of(new Entry("quant4j.json", metadata), new Entry("graph.fb", graph)));
        }
    }

    /** The subjects, quantized once (W8A8, the defaults) when first needed. */
    private static final class Models {
        static final Saved CNN;
        static final Saved RESIDUAL_GRAPH;
        /** A model in parts: dense, DL4J's ElementWiseMultiplicationLayer kept in fp32, dense, softmax. */
        static final Saved PARTS;

        static {
            Nd4j.getRandom().setSeed(17);
            INDArray flat = Nd4j.rand(DataType.FLOAT, 3, 784);
            INDArray images = Nd4j.rand(DataType.FLOAT, 3, 2, 12, 12);
            CNN = Saved.of(Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 2, 8)),
                    flat);
            RESIDUAL_GRAPH = Saved.of(Quantizer.quantize(TestNetworks.residualGraph(), TestNetworks.randomIterator(8,
                    new long[] {8, 2, 12, 12}, 4, 2, 3)), images);
            org.deeplearning4j.nn.multilayer.MultiLayerNetwork gated = new org.deeplearning4j.nn.multilayer
                    .MultiLayerNetwork(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().seed(19).list()
                    .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nOut(8)
                            .activation(org.nd4j.linalg.activations.Activation.RELU).build())
                    .layer(new org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer.Builder().nOut(8)
                            .activation(org.nd4j.linalg.activations.Activation.SIGMOID).build())
                    .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nOut(3)
                            .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build())
                    .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.feedForward(6)).build());
            gated.init();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                Quantizer.quantize(gated, TestNetworks.randomIterator(16, 6, 3, 2, 23),
                        org.quant4j.QuantizationOptions.builder().keepUnsupportedLayersFp32(true).build()).save(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            PARTS = new Saved(out.toByteArray(), null, null, Nd4j.rand(DataType.FLOAT, 3, 6));
        }
    }

    /** A position in {@code bytes}, from a fraction in [0, 1). */
    private static int at(double where, byte[] bytes) {
        return (int) (where * bytes.length);
    }

    @Property(seed = "25")
    void aByteOfTheFileChanged(@ForAll Subject subject, @ForAll @DoubleRange(max = 1, maxIncluded = false)
            double where, @ForAll byte value) {
        Saved saved = subject.saved();
        byte[] file = saved.file().clone();
        int position = at(where, file);
        String was = String.format("0x%02x", file[position]);
        file[position] = value;
        check(saved, subject + " aByteOfTheFileChanged: byte " + position + " of " + file.length + " from " + was
                + " to " + String.format("0x%02x", value), file);
    }

    @Property(seed = "25")
    void theFileTruncated(@ForAll Subject subject, @ForAll @DoubleRange(max = 1, maxIncluded = false)
            double where) {
        Saved saved = subject.saved();
        int length = at(where, saved.file());
        check(saved, subject + " theFileTruncated: at " + length + " of " + saved.file().length + " bytes",
                Arrays.copyOf(saved.file(), length));
    }

    @Property(seed = "25")
    void bytesOfTheGraphChanged(@ForAll Subject subject, @ForAll("fractions") List<Double> where,
            @ForAll long seed) {
        changeBytes(subject, "bytesOfTheGraphChanged", 1, where, seed);
    }

    @Property(seed = "25")
    void bytesOfTheMetadataChanged(@ForAll Subject subject, @ForAll("fractions") List<Double> where,
            @ForAll long seed) {
        changeBytes(subject, "bytesOfTheMetadataChanged", 0, where, seed);
    }

    /**
     * A model in parts: bytes of one of its entries ({@code parts.json}, a quantized part, a DL4J part's layers or
     * parameters) set to random values, the zip rewritten valid; or one entry dropped.
     */
    @Property(seed = "25")
    void bytesOfAModelInPartsChanged(@ForAll @IntRange(min = 0, max = 4) int index,
            @ForAll("fractions") List<Double> where, @ForAll boolean drop, @ForAll long seed) {
        Saved saved = Models.PARTS;
        List<Entry> entries = new ArrayList<>(ModelZips.entries(saved.file()));
        Entry chosen = entries.get(index);
        StringBuilder what = new StringBuilder("PARTS bytesOfAModelInPartsChanged: " + chosen.name());
        if (drop) {
            entries.remove(index);
            what.append(" dropped");
        } else {
            Random random = new Random(seed);
            byte[] content = chosen.bytes().clone();
            for (double w : where) {
                int p = at(w, content);
                byte value = (byte) random.nextInt(256);
                what.append(String.format(" [%d] 0x%02x->0x%02x", p, content[p], value));
                content[p] = value;
            }
            entries.set(index, new Entry(chosen.name(), content));
        }
        check(saved, what.toString(), ModelZips.zip(entries));
    }

    /** Sets the bytes at {@code where} of entry {@code index} to random values and rewrites a valid zip. */
    private static void changeBytes(Subject subject, String property, int index, List<Double> where, long seed) {
        Saved saved = subject.saved();
        List<Entry> entries = saved.entries();
        Random random = new Random(seed);
        byte[] content = entries.get(index).bytes().clone();
        StringBuilder what = new StringBuilder(subject + " " + property + ":");
        for (double w : where) {
            int p = at(w, content);
            byte value = (byte) random.nextInt(256);
            what.append(String.format(" [%d] 0x%02x->0x%02x", p, content[p], value));
            content[p] = value;
        }
        entries.set(index, new Entry(entries.get(index).name(), content));
        check(saved, what.toString(), ModelZips.zip(entries));
    }

    @Property(seed = "25")
    void aFieldOfTheMetadataEdited(@ForAll Subject subject, @ForAll Edit edit, @ForAll long seed) {
        Saved saved = subject.saved();
        JsonNode tree;
        try {
            tree = JSON.readTree(saved.metadata());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Located> containers = new ArrayList<>();
        collect("", tree, containers); // the root, then every object and array below it
        Random random = new Random(seed);
        Located container = containers.get(random.nextInt(containers.size()));
        String description = edit.apply(container, random);
        check(saved, subject + " aFieldOfTheMetadataEdited: " + description, ModelZips.zip(List.of(
                new Entry("quant4j.json", tree.toString().getBytes(StandardCharsets.UTF_8)),
                new Entry("graph.fb", saved.graph()))));
    }

    /** A JSON object or array and where it is, e.g. {@code quantizations[3].grid}. */
    record Located(String path, JsonNode node) {
    }

    private static void collect(String path, JsonNode node, List<Located> into) {
        if (node.isContainerNode() && node.size() > 0) {
            into.add(new Located(path, node));
            if (node.isArray()) {
                for (int i = 0; i < node.size(); i++) {
                    collect(path + "[" + i + "]", node.get(i), into);
                }
            } else {
                node.fields().forEachRemaining(f -> collect(path + (path.isEmpty() ? "" : ".") + f.getKey(),
                        f.getValue(), into));
            }
        }
    }

    /** An edit of one element of a JSON object or array, chosen at random. */
    enum Edit {
        ZERO, NEGATIVE, HUGE, NAN, NULL, EMPTY_STRING, OTHER_NAME, DROP, DOUBLE, SCALE_BY_TWO;

        String apply(Located located, Random random) {
            JsonNode container = located.node();
            List<String> keys = new ArrayList<>();
            container.fieldNames().forEachRemaining(keys::add);
            int index = random.nextInt(container.size());
            String where = located.path() + (container.isObject() ? (located.path().isEmpty() ? "" : ".")
                    + keys.get(index) : "[" + index + "]");
            JsonNode old = container.isObject() ? container.get(keys.get(index)) : container.get(index);
            JsonNode value = switch (this) {
                case ZERO -> JSON.getNodeFactory().numberNode(0);
                case NEGATIVE -> JSON.getNodeFactory().numberNode(-1);
                case HUGE -> JSON.getNodeFactory().numberNode(Integer.MAX_VALUE);
                case NAN -> JSON.getNodeFactory().textNode("NaN");
                case NULL -> JSON.getNodeFactory().nullNode();
                case EMPTY_STRING -> JSON.getNodeFactory().textNode("");
                case OTHER_NAME -> JSON.getNodeFactory().textNode(List.of("conv1", "relu1:fq", "out", "input",
                        "conv2d", "fc1/W:q", "nope").get(random.nextInt(7)));
                case SCALE_BY_TWO -> old.isNumber() ? JSON.getNodeFactory().numberNode(old.doubleValue() * 2) : old;
                case DROP, DOUBLE -> old;
            };
            if (this == DROP) {
                if (container.isObject()) {
                    ((ObjectNode) container).remove(keys.get(index));
                } else {
                    ((ArrayNode) container).remove(index);
                }
            } else if (this == DOUBLE && container.isArray()) {
                ((ArrayNode) container).insert(index, old.deepCopy());
            } else if (container.isObject()) {
                ((ObjectNode) container).set(keys.get(index), value);
            } else {
                ((ArrayNode) container).set(index, value);
            }
            return this + " " + where + " (was " + abbreviated(old) + ")";
        }

        private static String abbreviated(JsonNode node) {
            String text = node.toString();
            return text.length() > 60 ? text.substring(0, 60) + "..." : text;
        }
    }

    @Property(seed = "25")
    void theEntriesChanged(@ForAll Subject subject, @ForAll EntryChange change,
            @ForAll @IntRange(min = 0, max = 1) int which, @ForAll long seed) {
        Saved saved = subject.saved();
        Random random = new Random(seed);
        List<Entry> entries = saved.entries();
        Entry chosen = entries.get(which);
        Entry other = entries.get(1 - which);
        String description = subject + " theEntriesChanged: " + change + " " + chosen.name();
        switch (change) {
            case DROP -> entries.remove(which);
            case DOUBLE -> entries.add(random.nextInt(entries.size() + 1), chosen);
            case RENAME -> {
                String name = List.of("GRAPH.FB", "graph.fb ", "./" + chosen.name(), "dir/", "", other.name(),
                        chosen.name() + "\u0000x").get(random.nextInt(7));
                entries.set(which, new Entry(name, chosen.bytes()));
                description += " to '" + name + "'";
            }
            case REORDER -> entries.add(entries.remove(0));
            case STORED -> entries.set(which, new Entry(chosen.name(), chosen.bytes(), true));
            case RANDOM_CONTENT -> {
                byte[] garbage = new byte[random.nextInt(2 * chosen.bytes().length + 1)];
                random.nextBytes(garbage);
                entries.set(which, new Entry(chosen.name(), garbage));
                description += " (" + garbage.length + " random bytes)";
            }
            case OTHER_CONTENT -> entries.set(which, new Entry(chosen.name(), other.bytes()));
            case EXTRA_ENTRY -> entries.add(random.nextInt(entries.size() + 1), new Entry("notes.txt",
                    "hello".getBytes(StandardCharsets.UTF_8)));
            case ZIP_BOMB -> {
                long size = (65L + random.nextInt(96)) << 20;
                description += " (" + (size >> 20) + " MiB of zeros)";
                CaseLog.record(description);
                check(saved, description, ModelZips.zipWithFill(entries, which, size, (byte) 0));
                return;
            }
        }
        check(saved, description, ModelZips.zip(entries));
    }

    /** A change of the zip's entries. */
    enum EntryChange {
        DROP, DOUBLE, RENAME, REORDER, STORED, RANDOM_CONTENT, OTHER_CONTENT, EXTRA_ENTRY, ZIP_BOMB
    }

    @Provide
    Arbitrary<List<Double>> fractions() {
        return Arbitraries.doubles().between(0, true, 1, false).list().ofMinSize(1).ofMaxSize(4);
    }

    /**
     * The oracle: {@code file} loads from a stream into a model whose output works (finite probabilities of the right
     * shape, or a {@link QuantizationException}), or is refused naming the stream; nothing else.
     */
    private static void check(Saved saved, String description, byte[] file) {
        CaseLog.record(description);
        QuantizedModel model;
        try {
            model = QuantizedModel.load(new ByteArrayInputStream(file));
        } catch (QuantizationException | IOException e) {
            assertTrue(String.valueOf(e.getMessage()).contains(SOURCE), description + ": the error does not name"
                    + " the source: " + e);
            Statistics.collect("refused by load");
            return;
        }
        INDArray out;
        try {
            out = model.output(saved.input());
        } catch (RuntimeException e) {
            // A graph damaged in an op's arguments can parse, match its metadata and fail only when it runs: an
            // error then, from ND4J's own checks, is the outcome allowed (an Error, or the JVM dying, is not).
            Statistics.collect("loaded, output failed (" + e.getClass().getSimpleName() + ")");
            return;
        }
        // An edit of the metadata can make another variable the output: the batch is what any output keeps.
        assertTrue(out.rank() > 0 && out.size(0) == saved.input().size(0), description + ": the output's shape "
                + Arrays.toString(out.shape()) + " for a batch of " + saved.input().size(0));
        String nonFinite = FiniteValues.nonFinite(out);
        assertTrue(nonFinite == null, description + ": the output holds " + nonFinite);
        Statistics.collect("loaded and ran");
    }
}
