package org.quant4j.file;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.convert.Dl4jLayers;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.io.NonClosing;
import org.quant4j.quantize.QuantizedNetwork;
import org.quant4j.report.QuantizationReport;

/**
 * A model quantized in parts ({@code keepUnsupportedLayersFp32}) as a model file, format version 2: a zip of
 * {@code parts.json} (format, version, the input, the options, the report, each part's kind in network order) and,
 * for part {@code i}, either {@code part-i.q4j} (a quantized part: a whole model file of its own, read with every
 * check of one) or {@code part-i.layers.json} with {@code part-i.params} (DL4J layers kept in fp32: each layer's
 * index, name, type, configuration and input preprocessor as DL4J's own JSON, and its parameter count; then all
 * parameters, little-endian, layer after layer, in DL4J's flattened order).
 *
 * <p>Reading trusts nothing: the entries are exactly those {@code parts.json} names; DL4J's JSON names the classes it
 * instantiates (Jackson's {@code @class}), and every class named must be DL4J's or ND4J's ({@code org.deeplearning4j.},
 * {@code org.nd4j.}), checked on the JSON tree before DL4J reads it, so a file cannot make the reader instantiate
 * any other class; each layer's parameter count is checked against what its configuration takes, and the
 * parameters' bytes against the counts, before any array is made, and every parameter must be finite. Saving
 * refuses, naming it, a layer whose configuration names another class (a user's own layer), so that every file
 * written can be read.
 */
final class PartsFile {

    static final String PARTS_ENTRY = "parts.json";
    /** The most parts a model may have. */
    static final int MAX_PARTS = 1_000;
    private static final int PARTS_VERSION = 2;
    private static final String QUANTIZED = "quantized";
    private static final String DL4J = "dl4j";
    private static final Pattern PART_ENTRY = Pattern.compile("part-(\\d{1,4})\\.(q4j|layers\\.json|params)");
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** {@code parts.json}. */
    record PartsMetadata(String format, int version, TensorSpec input, QuantizationOptions options,
            QuantizationReport report, List<String> parts) {
    }

    /** One layer of {@code part-i.layers.json}: configuration and preprocessor as DL4J's JSON (null: none). */
    record StoredLayer(int index, String name, String type, String configuration, String preprocessor,
            long parameters) {
    }

    /** {@code part-i.layers.json}. */
    record LayersMetadata(String dataType, List<StoredLayer> layers) {
    }

    private PartsFile() {
    }

    /** The most bytes a part's entry may inflate to; -1 for a name that is no part's entry. */
    static long limitOf(String name) {
        Matcher m = PART_ENTRY.matcher(name);
        if (!m.matches()) {
            return -1;
        }
        return m.group(2).equals("layers.json") ? ModelFile.MAX_METADATA_BYTES : ModelFile.MAX_GRAPH_BYTES;
    }

    /** Writes {@code model}; every entry is made before the first is written, so a refusal writes nothing. */
    static void write(QuantizedNetwork.InParts model, OutputStream out) throws IOException {
        List<String> kinds = new ArrayList<>();
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < model.parts().size(); i++) {
            Object part = model.parts().get(i);
            if (part instanceof QuantizedNetwork.Whole whole) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                ModelFile.write(whole, bytes);
                entries.put("part-" + i + ".q4j", bytes.toByteArray());
                kinds.add(QUANTIZED);
            } else {
                writeLayers((Dl4jLayers) part, i, entries);
                kinds.add(DL4J);
            }
        }
        byte[] metadata = JSON.writeValueAsBytes(new PartsMetadata(ModelFile.FORMAT, PARTS_VERSION, model.input(),
                model.options(), model.report().withoutTimings(), kinds));
        try (ZipOutputStream zip = new ZipOutputStream(NonClosing.output(out))) {
            zip.putNextEntry(ModelFile.entry(PARTS_ENTRY));
            zip.write(metadata);
            zip.closeEntry();
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(ModelFile.entry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
    }

    private static void writeLayers(Dl4jLayers part, int i, Map<String, byte[]> entries) throws IOException {
        DataType type = part.dataType();
        if (type != DataType.FLOAT && type != DataType.DOUBLE) {
            throw new QuantizationException("cannot save: the layers kept in fp32 " + part.layers() + " hold "
                    + type + " parameters, and a model file holds FLOAT or DOUBLE ones");
        }
        List<StoredLayer> layers = new ArrayList<>();
        ByteArrayOutputStream params = new ByteArrayOutputStream();
        for (Dl4jLayers.Stored s : part.stored()) {
            String where = "layer " + s.layer().index() + " '" + s.layer().name() + "' (" + s.layer().type() + ")";
            String configuration = s.configuration().toJson();
            String preprocessor = s.preprocessor() == null ? null
                    : NeuralNetConfiguration.mapper().writerFor(InputPreProcessor.class)
                            .writeValueAsString(s.preprocessor());
            requireOwnClasses(configuration, "cannot save: " + where + ", kept in fp32,");
            if (preprocessor != null) {
                requireOwnClasses(preprocessor, "cannot save: the input preprocessor of " + where);
            }
            long count = s.parameters() == null ? 0 : s.parameters().length();
            layers.add(new StoredLayer(s.layer().index(), s.layer().name(), s.layer().type(), configuration,
                    preprocessor, count));
            if (count > 0) {
                INDArray flat = s.parameters().castTo(type).reshape('c', new long[] {count});
                ByteBuffer b = ByteBuffer.allocate((int) (count * type.width())).order(ByteOrder.LITTLE_ENDIAN);
                if (type == DataType.FLOAT) {
                    b.asFloatBuffer().put(flat.toFloatVector());
                } else {
                    b.asDoubleBuffer().put(flat.toDoubleVector());
                }
                params.write(b.array());
            }
        }
        entries.put("part-" + i + ".layers.json", JSON.writeValueAsBytes(new LayersMetadata(type.name(), layers)));
        entries.put("part-" + i + ".params", params.toByteArray());
    }

    /** A model in parts from the file's entries (which hold {@link #PARTS_ENTRY}). */
    static QuantizedNetwork.InParts read(Map<String, byte[]> entries, String source) {
        PartsMetadata m = json(entries.get(PARTS_ENTRY), PartsMetadata.class, source, PARTS_ENTRY);
        if (!ModelFile.FORMAT.equals(m.format())) {
            throw new QuantizationException(source + " is not a quant4j model (format '" + m.format() + "')");
        }
        if (m.version() > ModelFile.FORMAT_VERSION) {
            throw new QuantizationException(source + " was written in format version " + m.version()
                    + " by a newer quant4j; this version reads up to " + ModelFile.FORMAT_VERSION);
        }
        if (m.version() < PARTS_VERSION || m.input() == null || m.options() == null || m.report() == null
                || m.parts() == null || m.parts().isEmpty() || m.parts().size() > MAX_PARTS) {
            throw new QuantizationException(source + ": its " + PARTS_ENTRY + " is damaged: it needs version "
                    + PARTS_VERSION + " or more, an input, options, a report and 1 to " + MAX_PARTS + " parts");
        }
        TreeSet<String> expected = new TreeSet<>(List.of(PARTS_ENTRY));
        for (int i = 0; i < m.parts().size(); i++) {
            String kind = m.parts().get(i);
            if (QUANTIZED.equals(kind)) {
                expected.add("part-" + i + ".q4j");
            } else if (DL4J.equals(kind)) {
                expected.add("part-" + i + ".layers.json");
                expected.add("part-" + i + ".params");
            } else {
                throw new QuantizationException(source + ": its " + PARTS_ENTRY + " is damaged: part " + i
                        + " is of kind '" + kind + "' (" + QUANTIZED + " or " + DL4J + ")");
            }
        }
        if (!expected.equals(new TreeSet<>(entries.keySet()))) {
            TreeSet<String> extra = new TreeSet<>(entries.keySet());
            extra.removeAll(expected);
            expected.removeAll(entries.keySet());
            throw new QuantizationException(source + " is not a readable quant4j model: its parts need the entries "
                    + "it lacks " + expected + " and not those it holds besides " + extra);
        }
        List<Object> parts = new ArrayList<>();
        List<TensorQuantization> quantizations = new ArrayList<>();
        for (int i = 0; i < m.parts().size(); i++) {
            String where = source + ", part " + i;
            if (QUANTIZED.equals(m.parts().get(i))) {
                QuantizedNetwork part;
                try {
                    part = ModelFile.read(new ByteArrayInputStream(entries.get("part-" + i + ".q4j")), where);
                } catch (IOException e) {
                    throw new QuantizationException(where + ": " + e.getMessage(), e);
                }
                if (!(part instanceof QuantizedNetwork.Whole whole)) {
                    throw new QuantizationException(where + " is itself a model in parts: parts do not nest");
                }
                parts.add(whole);
                quantizations.addAll(whole.quantizations());
            } else {
                parts.add(readLayers(entries.get("part-" + i + ".layers.json"), entries.get("part-" + i + ".params"),
                        where));
            }
        }
        return new QuantizedNetwork.InParts(parts, m.input(), m.options(), quantizations, m.report());
    }

    private static Dl4jLayers readLayers(byte[] layersJson, byte[] params, String where) {
        LayersMetadata m = json(layersJson, LayersMetadata.class, where, "its layers");
        DataType type = "FLOAT".equals(m.dataType()) ? DataType.FLOAT : "DOUBLE".equals(m.dataType())
                ? DataType.DOUBLE : null;
        if (type == null || m.layers() == null || m.layers().isEmpty()) {
            throw new QuantizationException(where + ": its layers are damaged: they need a data type (FLOAT or"
                    + " DOUBLE, not " + m.dataType() + ") and at least one layer");
        }
        List<Dl4jLayers.Stored> stored = new ArrayList<>();
        ByteBuffer bytes = ByteBuffer.wrap(params).order(ByteOrder.LITTLE_ENDIAN);
        for (StoredLayer layer : m.layers()) {
            String at = where + ", layer " + layer.index() + " '" + layer.name() + "'";
            if (layer.configuration() == null || layer.type() == null) {
                throw new QuantizationException(at + ": its configuration is missing");
            }
            requireOwnClasses(layer.configuration(), at + ": its configuration");
            NeuralNetConfiguration conf;
            InputPreProcessor preprocessor = null;
            long expected;
            try {
                conf = NeuralNetConfiguration.fromJson(layer.configuration());
                expected = conf.getLayer().initializer().numParams(conf);
                if (layer.preprocessor() != null) {
                    requireOwnClasses(layer.preprocessor(), at + ": its input preprocessor");
                    preprocessor = NeuralNetConfiguration.mapper().readValue(layer.preprocessor(),
                            InputPreProcessor.class);
                }
            } catch (IOException | RuntimeException e) {
                if (e instanceof QuantizationException q) {
                    throw q;
                }
                throw new QuantizationException(at + ": its configuration is damaged: " + e.getMessage(), e);
            }
            String layerType = conf.getLayer().getClass().getSimpleName();
            if (!layerType.equals(layer.type()) || layer.parameters() != expected) {
                throw new QuantizationException(at + ": the file says a " + layer.type() + " of " + layer.parameters()
                        + " parameters, and its configuration is a " + layerType + " of " + expected);
            }
            if (bytes.remaining() < expected * type.width()) {
                throw new QuantizationException(at + ": its parameters end early: " + bytes.remaining() + " bytes"
                        + " left for " + expected + " " + m.dataType() + " values");
            }
            INDArray values = null;
            if (expected > 0) {
                int n = (int) expected;
                int bad = -1;
                if (type == DataType.FLOAT) {
                    float[] v = new float[n];
                    bytes.asFloatBuffer().get(v);
                    for (int k = 0; k < n && bad < 0; k++) {
                        bad = Float.isFinite(v[k]) ? -1 : k;
                    }
                    values = Nd4j.createFromArray(v).reshape(1, expected);
                } else {
                    double[] v = new double[n];
                    bytes.asDoubleBuffer().get(v);
                    for (int k = 0; k < n && bad < 0; k++) {
                        bad = Double.isFinite(v[k]) ? -1 : k;
                    }
                    values = Nd4j.createFromArray(v).reshape(1, expected);
                }
                if (bad >= 0) {
                    throw new QuantizationException(at + ": its parameter " + bad + " is " + values.getDouble(bad)
                            + " (a model's parameters are finite)");
                }
                bytes.position(bytes.position() + (int) (expected * type.width()));
            }
            stored.add(new Dl4jLayers.Stored(new Dl4jLayers.Layer(layer.index(), layer.name(), layer.type()), conf,
                    preprocessor, values));
        }
        if (bytes.hasRemaining()) {
            throw new QuantizationException(where + ": its parameters hold " + bytes.remaining() + " bytes more than"
                    + " its layers take");
        }
        try {
            return Dl4jLayers.of(stored, type);
        } catch (RuntimeException e) {
            throw new QuantizationException(where + ": DL4J cannot make its layers: " + e.getMessage(), e);
        }
    }

    /**
     * Fails unless every class {@code json} names for Jackson ({@code @class}) is DL4J's or ND4J's; {@code what}
     * says whose JSON it is.
     */
    static void requireOwnClasses(String json, String what) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new QuantizationException(what + " is not JSON: " + e.getMessage(), e);
        }
        List<JsonNode> pending = new ArrayList<>(List.of(root));
        while (!pending.isEmpty()) {
            JsonNode node = pending.remove(pending.size() - 1);
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                if (f.getKey().equals("@class") && !(f.getValue().isTextual()
                        && (f.getValue().asText().startsWith("org.deeplearning4j.")
                        || f.getValue().asText().startsWith("org.nd4j.")))) {
                    throw new QuantizationException(what + " names the class " + f.getValue() + ", and a model"
                            + " file may name only DL4J's and ND4J's own classes (org.deeplearning4j., org.nd4j.)");
                }
            }
            node.elements().forEachRemaining(pending::add);
        }
    }

    private static <T> T json(byte[] bytes, Class<T> type, String source, String entry) {
        try {
            T value = JSON.readValue(bytes, type);
            if (value == null) {
                throw new QuantizationException(source + ": " + entry + " is damaged: it holds null");
            }
            return value;
        } catch (IOException e) {
            throw new QuantizationException(source + ": " + entry + " is damaged: " + e.getMessage(), e);
        }
    }
}
