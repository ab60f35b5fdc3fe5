package org.quant4j.file;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 *
 * <p>Reading trusts nothing in the file (a model may come from anywhere):
 * <ul>
 * <li><b>Entries.</b> Exactly {@code quant4j.json} and {@code graph.fb}, in either order, each once: any other entry,
 * or one of them twice, is refused; a model in parts holds {@code parts.json} and the entries it names instead
 * ({@link PartsFile}, at most {@link #MAX_ENTRIES}). (The zip's central directory is not read: the entries are read
 * as they come.)</li>
 * <li><b>Sizes.</b> The entries are inflated through a counting cap, whatever sizes their headers claim (they are
 * never asked): {@code quant4j.json} to at most {@link #MAX_METADATA_BYTES} (64 MiB: the metadata holds a few numbers
 * per channel, 14 kB for the 10-class CNN of the tests and, estimated from its channel counts, about 2 MB for VGG-16,
 * so the cap leaves a margin of thirty); {@code graph.fb} to at most {@link #MAX_GRAPH_BYTES} (2 GiB less 8 bytes:
 * the largest Java array, and the most one FlatBuffers buffer addresses, which SameDiff reads the graph from). Past
 * {@link #RATIO_FREE_BYTES} (64 MiB) an entry may inflate to at most {@link #MAX_RATIO} (100) times the compressed
 * bytes read for it so far: int8 weights compress a few times (the test CNN's graph 2.7 times), and only a zip bomb
 * (deflate reaches 1,032 times) or a graph of mostly zeros crosses it. So a small file is refused after at most
 * 64 MiB inflated per entry, instead of exhausting memory, and more is read only from a file of at least 1/100 of
 * it. (A graph that compresses more than 100 times past its first 64 MiB, e.g. one of hundreds of MB of all-zero
 * weights, is refused too: no trained network is one.) The checks on the graph's FlatBuffers before SameDiff reads
 * them ({@link GraphBufferCheck}) keep what reading it allocates within a few times its size.</li>
 * <li><b>Content.</b> The metadata is checked on its own and against the graph ({@link ModelConsistency}: names,
 * scales, bits, channel counts, the graph's own scale constants), so that a hand-edited or damaged file is refused
 * with the inconsistency named, before it can run.</li>
 * </ul>
 * Every refusal is a {@link QuantizationException} naming the source (the file's path, or "the stream"), the entry
 * and what is wrong (for a size, the limit).
 */
public final class ModelFile {

    /** The file format's name, first field of the metadata. */
    public static final String FORMAT = "quant4j-model";
    /**
     * The newest format version this code writes and reads: 2, models in parts ({@link PartsFile}); a whole model is
     * written as version 1 ({@link #WHOLE_VERSION}), as it always was.
     */
    public static final int FORMAT_VERSION = 2;
    /** The version a whole model is written in. */
    static final int WHOLE_VERSION = 1;

    /** The most bytes {@code quant4j.json} may inflate to: 64 MiB. */
    public static final long MAX_METADATA_BYTES = 64L << 20;
    /** The most bytes {@code graph.fb} may inflate to: the largest Java array, 2 GiB less 8 bytes. */
    public static final long MAX_GRAPH_BYTES = Integer.MAX_VALUE - 8;
    /** Up to this many inflated bytes an entry is read whatever its compression ratio: 64 MiB. */
    public static final long RATIO_FREE_BYTES = 64L << 20;
    /** Past {@link #RATIO_FREE_BYTES}, the most an entry's inflated bytes may be, as a multiple of its compressed. */
    public static final int MAX_RATIO = 100;

    /** The most entries a file may hold: a model in parts of at most 1,000 parts, three entries each, and one more. */
    static final int MAX_ENTRIES = 3_001;

    static final String METADATA_ENTRY = "quant4j.json";
    static final String GRAPH_ENTRY = "graph.fb";
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

    /**
     * Writes {@code model} to {@code out}, which is flushed, not closed: a whole model as {@link #METADATA_ENTRY} and
     * {@link #GRAPH_ENTRY}, a model in parts as {@link PartsFile} lays it out.
     */
    public static void write(QuantizedNetwork model, OutputStream out) throws IOException {
        if (model instanceof QuantizedNetwork.InParts parts) {
            PartsFile.write(parts, out);
        } else {
            write((QuantizedNetwork.Whole) model, out);
        }
    }

    /** Writes a whole model to {@code out}, which is flushed, not closed. */
    static void write(QuantizedNetwork.Whole model, OutputStream out) throws IOException {
        ModelGraph graph = model.graph();
        byte[] metadata = JSON.writeValueAsBytes(new Metadata(FORMAT, WHOLE_VERSION, graph.inputs(), graph.outputs(),
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

    static ZipEntry entry(String name) {
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
    public static QuantizedNetwork read(InputStream in, String source) throws IOException {
        Map<String, byte[]> entries = readEntries(in, source);
        if (entries.containsKey(PartsFile.PARTS_ENTRY)) {
            return PartsFile.read(entries, source);
        }
        for (String name : entries.keySet()) {
            if (!name.equals(METADATA_ENTRY) && !name.equals(GRAPH_ENTRY)) {
                throw new QuantizationException(source + " is not a quant4j model: it holds an entry '" + name
                        + "', and a model holds only " + METADATA_ENTRY + " and " + GRAPH_ENTRY + " (or "
                        + PartsFile.PARTS_ENTRY + " and its parts)");
            }
        }
        return readWhole(entries.get(METADATA_ENTRY), entries.get(GRAPH_ENTRY), source);
    }

    /**
     * Every entry of the zip in {@code in}, by name, each inflated through its cap ({@link #limitOf}); an entry
     * named twice, one of a name no model holds, or more than {@link #MAX_ENTRIES} entries are refused.
     */
    private static Map<String, byte[]> readEntries(InputStream in, String source) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        BufferedInputStream buffered = new BufferedInputStream(NonClosing.input(in));
        requireZip(buffered, source);
        CountingInput compressed = new CountingInput(buffered);
        try (ZipInputStream zip = new ZipInputStream(compressed)) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                String name = entry.getName();
                long limit = limitOf(name);
                if (limit < 0) {
                    throw new QuantizationException(source + " is not a quant4j model: it holds an entry '" + name
                            + "', and a model holds only " + METADATA_ENTRY + " and " + GRAPH_ENTRY + " (or "
                            + PartsFile.PARTS_ENTRY + " and its parts)");
                }
                if (entries.containsKey(name)) {
                    throw new QuantizationException(source + " is not a readable quant4j model: it holds the entry "
                            + name + " twice");
                }
                if (entries.size() == MAX_ENTRIES) {
                    throw new QuantizationException(source + " is not a readable quant4j model: it holds more than "
                            + MAX_ENTRIES + " entries");
                }
                entries.put(name, new BoundedEntry(zip, compressed, source, name, limit).readAllBytes());
            }
        } catch (EOFException e) {
            throw new QuantizationException(source + " is not a readable quant4j model: it ends in the middle of"
                    + " an entry (truncated: " + e.getMessage() + ")", e);
        } catch (ZipException e) {
            throw new QuantizationException(source + " is not a readable quant4j model (damaged or not a zip file: "
                    + e.getMessage() + ")", e);
        } catch (IllegalArgumentException e) {
            // ZipInputStream's refusal of an entry name that is not valid UTF-8 (where the entry says it is).
            throw new QuantizationException(source + " is not a readable quant4j model (damaged: an entry's name "
                    + "cannot be decoded: " + e.getMessage() + ")", e);
        }
        if (entries.isEmpty()) {
            // It begins with a zip entry's signature (requireZip), and ZipInputStream ends quietly at a short header.
            throw new QuantizationException(source + " is not a readable quant4j model: it ends inside the header of"
                    + " its first entry (truncated)");
        }
        return entries;
    }

    /** The most bytes entry {@code name} may inflate to; -1 for a name no model file holds. */
    private static long limitOf(String name) {
        if (name.equals(METADATA_ENTRY) || name.equals(PartsFile.PARTS_ENTRY)) {
            return MAX_METADATA_BYTES;
        }
        if (name.equals(GRAPH_ENTRY)) {
            return MAX_GRAPH_BYTES;
        }
        return PartsFile.limitOf(name);
    }

    /** A whole model from its two entries' bytes (either null when the file lacks it). */
    static QuantizedNetwork.Whole readWhole(byte[] metadataBytes, byte[] graphBytes, String source) {
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
        if (metadata == null) {
            throw new QuantizationException(source + ": its " + METADATA_ENTRY + " is damaged: it holds null");
        }
        if (!FORMAT.equals(metadata.format())) {
            throw new QuantizationException(source + " is not a quant4j model (format '" + metadata.format() + "')");
        }
        if (metadata.version() < 1) {
            throw new QuantizationException(source + ": its " + METADATA_ENTRY + " is damaged: format version "
                    + metadata.version() + " (versions begin at 1)");
        }
        if (metadata.version() > FORMAT_VERSION) {
            throw new QuantizationException(source + " was written in format version " + metadata.version()
                    + " by a newer quant4j; this version reads up to " + FORMAT_VERSION);
        }
        ModelConsistency.requireValid(metadata, source);
        SameDiff sd;
        try {
            ByteBuffer buffer = ByteBuffer.allocateDirect(graphBytes.length);
            buffer.put(graphBytes).flip();
            GraphBufferCheck.check(buffer);
            sd = org.quant4j.graph.ArraysOnce.keep(SameDiff.fromFlatBuffers(buffer));
        } catch (IOException | RuntimeException e) {
            throw new QuantizationException(source + ": its graph (" + GRAPH_ENTRY + ") is damaged: " + e.getMessage(),
                    e);
        }
        ModelConsistency.requireMatches(metadata, sd, source);
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

    /** Counts the bytes read through it: the compressed bytes the zip reader has taken. */
    private static final class CountingInput extends FilterInputStream {
        private long count;

        CountingInput(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            count += b < 0 ? 0 : 1;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            count += Math.max(n, 0);
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            count += skipped;
            return skipped;
        }
    }

    /**
     * One entry's inflated bytes, refused (a {@link QuantizationException} naming the source, the entry and the
     * limit) as soon as they pass the entry's limit or, past {@link #RATIO_FREE_BYTES}, {@link #MAX_RATIO} times the
     * compressed bytes read since the entry began (counted by {@code compressed}, a little ahead of the inflater).
     */
    private static final class BoundedEntry extends FilterInputStream {
        private final CountingInput compressed;
        private final long compressedStart;
        private final String source;
        private final String entry;
        private final long limit;
        private long inflated;

        BoundedEntry(InputStream entryStream, CountingInput compressed, String source, String entry, long limit) {
            super(entryStream);
            this.compressed = compressed;
            this.compressedStart = compressed.count;
            this.source = source;
            this.entry = entry;
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                counted(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                counted(n);
            }
            return n;
        }

        private void counted(int n) {
            inflated += n;
            if (inflated > limit) {
                throw new QuantizationException(source + " is not a readable quant4j model: its entry " + entry
                        + " inflates to more than " + bytes(limit) + ", the most a model's " + entry + " may hold");
            }
            long packed = Math.max(1, compressed.count - compressedStart);
            if (inflated > RATIO_FREE_BYTES && inflated > MAX_RATIO * packed) {
                throw new QuantizationException(source + " is not a readable quant4j model: its entry " + entry
                        + " inflates to more than " + MAX_RATIO + " times its compressed size (" + inflated
                        + " bytes from " + packed + "), which past " + bytes(RATIO_FREE_BYTES)
                        + " no model does (a zip bomb, or a damaged file)");
            }
        }

        private static String bytes(long n) {
            return n % (1L << 20) == 0 ? (n >> 20) + " MiB" : n + " bytes";
        }
    }
}
