package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** QuantizedModel's stream forms: the file's bytes, the caller's stream left open, clear errors for what is not a model. */
class QuantizedModelStreamTest {

    static QuantizedModel model;

    @TempDir
    Path tmp;

    @BeforeAll
    static void quantize() {
        model = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 2, 8));
    }

    @Test
    void aStreamRoundTripGivesTheFilesBytesAndTheSameOutputs() throws IOException {
        ClosingRecorder out = new ClosingRecorder(new ByteArrayOutputStream());
        model.save(out);
        assertFalse(out.closed, "save(OutputStream) leaves the stream open");
        out.write(new byte[] {42}); // and usable
        byte[] streamed = Arrays.copyOf(((ByteArrayOutputStream) out.target()).toByteArray(), out.size - 1);

        Path file = tmp.resolve("cnn.q4j");
        model.save(file.toFile());
        assertArrayEquals(Files.readAllBytes(file), streamed, "save(OutputStream) writes what save(File) writes");

        OpenRecorder in = new OpenRecorder(new ByteArrayInputStream(streamed));
        QuantizedModel loaded = QuantizedModel.load(in);
        assertFalse(in.closed, "load(InputStream) leaves the stream open");
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.rand(DataType.FLOAT, 10, 784);
        assertEquals(model.output(x), loaded.output(x));
        assertEquals(QuantizedModel.load(file.toFile()).output(x), loaded.output(x));
        assertEquals(model.quantizations(), loaded.quantizations());
        assertEquals(model.report().withoutTimings(), loaded.report());

        ByteArrayOutputStream again = new ByteArrayOutputStream();
        loaded.save(again);
        assertArrayEquals(streamed, again.toByteArray(), "a model loaded from a stream saves to the same bytes");
    }

    @Test
    void aSavedFileHasThePermissionsOfAPlainNewFile() throws IOException {
        assumeTrue(Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class), "not POSIX");
        Path plain = Files.createFile(tmp.resolve("plain"));
        Path file = tmp.resolve("model.q4j");
        model.save(file.toFile());
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(file));
        model.save(file.toFile()); // replacing it, too
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(file));
    }

    @Test
    void savingThroughASymbolicLinkReplacesTheFileItNames() throws IOException {
        Path v3 = Files.writeString(tmp.resolve("v3.q4j"), "an older model");
        Path link = Files.createSymbolicLink(tmp.resolve("model.q4j"), v3.getFileName());
        model.save(link.toFile());
        assertTrue(Files.isSymbolicLink(link), "the link is still a link");
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        model.save(expected);
        assertArrayEquals(expected.toByteArray(), Files.readAllBytes(v3));
        assertEquals(model.quantizations(), QuantizedModel.load(link.toFile()).quantizations());
        try (java.util.stream.Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of("model.q4j", "v3.q4j"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aTruncatedStreamIsAClearError() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        model.save(out);
        byte[] bytes = out.toByteArray();
        // Cut in the zip's signature, in the first entry's header, in the metadata, in the graph, and in the graph's
        // trailing data descriptor (a model is complete only with its last entry: what follows is the zip's index).
        for (int length : new int[] {2, 20, 200, bytes.length / 2, bytes.length - 200}) {
            byte[] cut = Arrays.copyOf(bytes, length);
            QuantizationException e = assertThrows(QuantizationException.class,
                    () -> QuantizedModel.load(new ByteArrayInputStream(cut)), "cut at " + length);
            assertTrue(e.getMessage().startsWith("the stream ") && e.getMessage().contains("truncated"),
                    "cut at " + length + ": " + e.getMessage());
        }
    }

    @Test
    void aStreamThatIsNotAModelIsNamedAsSuch() throws IOException {
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> QuantizedModel.load(new ByteArrayInputStream(new byte[0])));
        assertEquals("the stream is not a quant4j model: it is empty", e.getMessage());

        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(
                new ByteArrayInputStream("{\"format\":\"quant4j-model\"}".getBytes(StandardCharsets.UTF_8))));
        assertTrue(e.getMessage().contains("the stream is not a quant4j model")
                && e.getMessage().contains("zip") && e.getMessage().contains("7b 22 66 6f"), e.getMessage());

        // A DL4J model is a zip too, but not a quant4j model.
        ByteArrayOutputStream dl4j = new ByteArrayOutputStream();
        ModelSerializer.writeModel(TestNetworks.cnn(), dl4j, false);
        e = assertThrows(QuantizationException.class,
                () -> QuantizedModel.load(new ByteArrayInputStream(dl4j.toByteArray())));
        assertEquals("the stream is not a quant4j model: it holds an entry 'configuration.json', and a model holds"
                + " only quant4j.json and graph.fb (or parts.json and its parts)", e.getMessage());
    }

    /** An output stream that records whether it was closed and how many bytes it took. */
    private static final class ClosingRecorder extends FilterOutputStream {
        boolean closed;
        int size;

        ClosingRecorder(OutputStream out) {
            super(out);
        }

        OutputStream target() {
            return out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            size++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            size += len;
        }

        @Override
        public void close() throws IOException {
            closed = true;
            super.close();
        }
    }

    /** An input stream that records whether it was closed. */
    private static final class OpenRecorder extends FilterInputStream {
        boolean closed;

        OpenRecorder(InputStream in) {
            super(in);
        }

        @Override
        public void close() throws IOException {
            closed = true;
            super.close();
        }
    }
}
