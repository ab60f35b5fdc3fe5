package org.quant4j.file;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.nd4j.autodiff.samediff.SameDiff;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.io.NonClosing;
import org.quant4j.quantize.QuantizedNetwork;
import org.quant4j.report.QuantizationReport;

/**
 * The quant4j model file: a zip of {@code quant4j.json} (format name and version, the graph's inputs, outputs and
 * layer outputs, the options, every tensor's quantization, the report without its timings) and {@code graph.fb} (the
 * SameDiff graph as FlatBuffers, weights stored as INT8). Byte-identical for the same model in any run, process and
 * time zone: the zip entries carry a fixed time, the JSON's properties are in declaration order and its maps and sets
 * sorted.
 */
public final class ModelFile {

    /** The file format's name, first field of the metadata. */
    public static final String FORMAT = "quant4j-model";
    /** The newest format version this code writes and reads. */
    public static final int FORMAT_VERSION = 1;

    private static final String METADATA_ENTRY = "quant4j.json";
    private static final String GRAPH_ENTRY = "graph.fb";
    /** The time of every zip entry, fixed so that saved files are byte-identical (DOS time: no time zone). */
    private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(2000, 1, 1, 0, 0);
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ModelFile() {
    }

    /** The metadata stored beside the graph. */
    record Metadata(String format, int version, List<TensorSpec> inputs, List<String> outputs,
            List<ModelGraph.LayerOutput> layerOutputs, QuantizationOptions options,
            List<TensorQuantization> quantizations, QuantizationReport report) {
    }

    /** Writes {@code model} to {@code out}, which is flushed, not closed. */
    public static void write(QuantizedNetwork.Whole model, OutputStream out) throws IOException {
        ModelGraph graph = model.graph();
        byte[] metadata = JSON.writeValueAsBytes(new Metadata(FORMAT, FORMAT_VERSION, graph.inputs(), graph.outputs(),
                graph.layerOutputs(), model.options(), model.quantizations(), model.report().withoutTimings()));
        ByteBuffer fb = graph.graph().asFlatBuffers(true);
        byte[] graphBytes = new byte[fb.remaining()];
        fb.get(graphBytes);
        try (ZipOutputStream zip = new ZipOutputStream(NonClosing.output(out))) {
            zip.putNextEntry(entry(METADATA_ENTRY));
            zip.write(metadata);
            zip.closeEntry();
            zip.putNextEntry(entry(GRAPH_ENTRY));
            zip.write(graphBytes);
            zip.closeEntry();
        }
    }

    private static ZipEntry entry(String name) {
        ZipEntry entry = new ZipEntry(name);
        entry.setTimeLocal(ENTRY_TIME);
        return entry;
    }

    /**
     * Reads a model from {@code in} (as far as the model goes; {@code in} is not closed), naming {@code source} (a
     * file's path, "the stream") in every error.
     *
     * @throws QuantizationException when it is not a quant4j model, is damaged or truncated, or comes from a newer
     *                               version; the message says which
     */
    public static QuantizedNetwork.Whole read(InputStream in, String source) throws IOException {
        byte[] metadataBytes = null;
        byte[] graphBytes = null;
        BufferedInputStream buffered = new BufferedInputStream(NonClosing.input(in));
        requireZip(buffered, source);
        int entries = 0;
        try (ZipInputStream zip = new ZipInputStream(buffered)) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                entries++;
                if (entry.getName().equals(METADATA_ENTRY)) {
                    metadataBytes = readAll(zip);
                } else if (entry.getName().equals(GRAPH_ENTRY)) {
                    graphBytes = readAll(zip);
                }
            }
        } catch (EOFException e) {
            throw new QuantizationException(source + " is not a readable quant4j model: it ends in the middle of"
                    + " an entry (truncated: " + e.getMessage() + ")", e);
        } catch (ZipException e) {
            throw new QuantizationException(source + " is not a readable quant4j model (damaged or not a zip file: "
                    + e.getMessage() + ")", e);
        }
        if (entries == 0) {
            // It begins with a zip entry's signature (requireZip), and ZipInputStream ends quietly at a short header.
            throw new QuantizationException(source + " is not a readable quant4j model: it ends inside the header of"
                    + " its first entry (truncated)");
        }
        if (metadataBytes == null) {
            throw new QuantizationException(source + " is not a quant4j model: it lacks " + METADATA_ENTRY);
        }
        if (graphBytes == null) {
            throw new QuantizationException(source + " is not a complete quant4j model: it lacks " + GRAPH_ENTRY
                    + " (truncated, or not written by quant4j)");
        }
        Metadata metadata;
        try {
            metadata = JSON.readValue(metadataBytes, Metadata.class);
        } catch (IOException e) {
            throw new QuantizationException(source + ": its " + METADATA_ENTRY + " is damaged: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(metadata.format())) {
            throw new QuantizationException(source + " is not a quant4j model (format '" + metadata.format() + "')");
        }
        if (metadata.version() > FORMAT_VERSION) {
            throw new QuantizationException(source + " was written in format version " + metadata.version()
                    + " by a newer quant4j; this version reads up to " + FORMAT_VERSION);
        }
        SameDiff sd;
        try {
            ByteBuffer buffer = ByteBuffer.allocateDirect(graphBytes.length);
            buffer.put(graphBytes).flip();
            sd = SameDiff.fromFlatBuffers(buffer);
        } catch (IOException | RuntimeException e) {
            throw new QuantizationException(source + ": its graph (" + GRAPH_ENTRY + ") is damaged: " + e.getMessage(),
                    e);
        }
        return new QuantizedNetwork.Whole(new ModelGraph(sd, metadata.inputs(), metadata.outputs(),
                metadata.layerOutputs()), metadata.options(), metadata.quantizations(), metadata.report());
    }

    /** Fails unless {@code in} begins as a zip file does (a local file header); leaves {@code in} where it was. */
    private static void requireZip(BufferedInputStream in, String source) throws IOException {
        in.mark(4);
        byte[] head = in.readNBytes(4);
        in.reset();
        byte[] magic = {'P', 'K', 3, 4};
        if (head.length == 0) {
            throw new QuantizationException(source + " is not a quant4j model: it is empty");
        }
        if (head.length < magic.length && Arrays.equals(head, Arrays.copyOf(magic, head.length))) {
            throw new QuantizationException(source + " is not a readable quant4j model: it ends after " + head.length
                    + " bytes (truncated)");
        }
        if (!Arrays.equals(head, magic)) {
            StringBuilder hex = new StringBuilder();
            for (byte b : head) {
                hex.append(String.format(" %02x", b));
            }
            throw new QuantizationException(source + " is not a quant4j model: a model is a zip file, beginning"
                    + " with the bytes 50 4b 03 04 ('PK'), and this begins with" + hex);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }
}
