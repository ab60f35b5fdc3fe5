package org.quant4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX parsing and validation on small files written here, raw and gzip. */
class IdxReaderTest {

    @TempDir
    Path tmp;

    static byte[] idx3(int magic, int n, int rows, int cols, byte[] payload) {
        return ByteBuffer.allocate(16 + payload.length).putInt(magic).putInt(n).putInt(rows).putInt(cols)
                .put(payload).array();
    }

    static byte[] idx1(int magic, int n, byte[] payload) {
        return ByteBuffer.allocate(8 + payload.length).putInt(magic).putInt(n).put(payload).array();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(data);
        }
        return bos.toByteArray();
    }

    static byte[] ramp(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7);
        }
        return b;
    }

    Path write(String name, byte[] content) throws IOException {
        return Files.write(tmp.resolve(name), content);
    }

    @Test
    void readsRawAndGzipImagesIdentically() throws IOException {
        byte[] px = ramp(3 * 4 * 5);
        Path raw = write("imgs-idx3-ubyte", idx3(0x803, 3, 4, 5, px));
        Path gz = write("imgs-idx3-ubyte.gz", gzip(idx3(0x803, 3, 4, 5, px)));
        for (Path p : new Path[] {raw, gz}) {
            IdxImages im = IdxReader.readImages(p);
            assertEquals(3, im.count());
            assertEquals(4, im.rows());
            assertEquals(5, im.cols());
            assertArrayEquals(px, im.pixels());
            assertEquals(px[21] & 0xFF, im.pixel(1, 1));
            assertEquals(p, im.source());
        }
        // unsigned: byte 0xFF is pixel 255, not -1
        assertEquals(7 * 37 & 0xFF, IdxReader.readImages(raw).pixel(1, 17));
    }

    @Test
    void readsRawAndGzipLabels() throws IOException {
        byte[] lab = {7, 2, 1, 0, 9, (byte) 200};
        assertArrayEquals(lab, IdxReader.readLabels(write("l-idx1-ubyte", idx1(0x801, 6, lab))).labels());
        IdxLabels gz = IdxReader.readLabels(write("l-idx1-ubyte.gz", gzip(idx1(0x801, 6, lab))));
        assertArrayEquals(lab, gz.labels());
        assertEquals(200, gz.label(5));
    }

    @Test
    void truncatedRawImagesNameTheFile() throws IOException {
        byte[] full = idx3(0x803, 10, 28, 28, ramp(10 * 28 * 28));
        Path p = write("truncated-images-idx3-ubyte", Arrays.copyOf(full, full.length - 100));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.readImages(p));
        assertTrue(e.getMessage().contains(p.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("7840"), "names the size the header announces: " + e.getMessage());
        assertEquals(p, e.file());
    }

    @Test
    void truncatedGzipNamesTheFile() throws IOException {
        byte[] gz = gzip(idx3(0x803, 10, 28, 28, ramp(10 * 28 * 28)));
        Path p = write("cut-images-idx3-ubyte.gz", Arrays.copyOf(gz, gz.length / 2));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.readImages(p));
        assertTrue(e.getMessage().contains(p.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void truncatedHeader() throws IOException {
        Path p = write("short-idx1-ubyte", new byte[] {0, 0, 8, 1, 0, 0});
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.readLabels(p));
        assertTrue(e.getMessage().contains("truncated header"), e.getMessage());
        Path empty = write("empty", new byte[0]);
        assertThrows(IdxFormatException.class, () -> IdxReader.readImages(empty));
    }

    @Test
    void wrongMagicIsRejectedAndSwapIsHinted() throws IOException {
        Path labels = write("labels-idx1-ubyte", idx1(0x801, 2, new byte[] {1, 2}));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.readImages(labels));
        assertTrue(e.getMessage().contains("0x00000801") && e.getMessage().contains("0x00000803"), e.getMessage());
        assertTrue(e.getMessage().contains("swapped"), e.getMessage());
        Path junk = write("junk", "hello, world, not idx".getBytes());
        assertThrows(IdxFormatException.class, () -> IdxReader.readLabels(junk));
        Path ints = write("ints-idx1", idx1(0x00000C01, 1, new byte[] {0, 0, 0, 1}));
        assertThrows(IdxFormatException.class, () -> IdxReader.readLabels(ints));
    }

    @Test
    void trailingBytesAreRejected() throws IOException {
        Path p = write("long-idx1-ubyte", idx1(0x801, 2, new byte[] {1, 2, 3}));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.readLabels(p));
        assertTrue(e.getMessage().contains("trailing"), e.getMessage());
    }

    @Test
    void implausibleDimensionsAreRejected() throws IOException {
        Path neg = write("neg-idx3", idx3(0x803, -1, 28, 28, new byte[0]));
        assertThrows(IdxFormatException.class, () -> IdxReader.readImages(neg));
        Path huge = write("huge-idx3", idx3(0x803, 1 << 20, 1 << 10, 1 << 10, new byte[0]));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.readImages(huge));
        assertTrue(e.getMessage().contains("huge-idx3"), e.getMessage());
    }

    @Test
    void missingFileIsAnIoErrorNamingTheFile() {
        Path p = tmp.resolve("nope-idx3-ubyte");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> IdxReader.readImages(p));
        assertTrue(e.getMessage().contains(p.toAbsolutePath().toString()), e.getMessage());
    }
}
