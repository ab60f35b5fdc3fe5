package org.quant4j.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (the MNIST file format), raw or gzip-compressed. A file is treated as gzip when it
 * starts with the gzip magic bytes {@code 1f 8b}, whatever its name.
 *
 * <p>The header is validated (magic number {@code 0x00000803} for images, {@code 0x00000801} for labels,
 * positive dimensions) and the payload must have exactly the size the header announces: a short file
 * and trailing bytes are both errors. Problems with the content throw {@link IdxFormatException} naming
 * the file; I/O failures throw {@link UncheckedIOException}.
 */
public final class IdxReader {

    /** Magic number of an IDX file of unsigned bytes with 3 dimensions (images). */
    public static final int IMAGES_MAGIC = 0x00000803;
    /** Magic number of an IDX file of unsigned bytes with 1 dimension (labels). */
    public static final int LABELS_MAGIC = 0x00000801;

    /** Refuse headers announcing more than this many payload bytes (a corrupt header, not a data set). */
    private static final long MAX_PAYLOAD = Integer.MAX_VALUE - 8;

    private IdxReader() {
    }

    /**
     * Reads an IDX3 image file.
     *
     * @param file raw or gzip-compressed IDX file with magic {@code 0x00000803}
     * @return the images
     * @throws IdxFormatException if the file is not a well-formed IDX3 unsigned-byte file
     * @throws UncheckedIOException if the file cannot be read
     */
    public static IdxImages readImages(Path file) {
        try (InputStream in = open(file)) {
            int magic = readHeaderInt(in, file, "magic number");
            checkMagic(file, magic, IMAGES_MAGIC, "image");
            int count = readHeaderInt(in, file, "image count");
            int rows = readHeaderInt(in, file, "row count");
            int cols = readHeaderInt(in, file, "column count");
            if (count < 0 || rows <= 0 || cols <= 0) {
                throw new IdxFormatException(file, "implausible header dimensions " + count + " x " + rows + " x " + cols);
            }
            long size = (long) count * rows * cols;
            if (size > MAX_PAYLOAD) {
                throw new IdxFormatException(file, "header announces " + size + " pixel bytes, more than supported");
            }
            byte[] pixels = readPayload(in, file, (int) size, count + " images of " + rows + "x" + cols + " pixels");
            return new IdxImages(file, count, rows, cols, pixels);
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
    }

    /**
     * Reads an IDX1 label file.
     *
     * @param file raw or gzip-compressed IDX file with magic {@code 0x00000801}
     * @return the labels
     * @throws IdxFormatException if the file is not a well-formed IDX1 unsigned-byte file
     * @throws UncheckedIOException if the file cannot be read
     */
    public static IdxLabels readLabels(Path file) {
        try (InputStream in = open(file)) {
            int magic = readHeaderInt(in, file, "magic number");
            checkMagic(file, magic, LABELS_MAGIC, "label");
            int count = readHeaderInt(in, file, "label count");
            if (count < 0 || count > MAX_PAYLOAD) {
                throw new IdxFormatException(file, "implausible label count " + count);
            }
            byte[] labels = readPayload(in, file, count, count + " labels");
            return new IdxLabels(file, labels);
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
    }

    private static InputStream open(Path file) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        raw.mark(2);
        int b0 = raw.read();
        int b1 = raw.read();
        raw.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            try {
                return new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16);
            } catch (IOException e) {
                raw.close();
                throw new IdxFormatException(file, "corrupt gzip header (" + e.getMessage() + ")", e);
            }
        }
        return raw;
    }

    private static void checkMagic(Path file, int magic, int expected, String kind) {
        if (magic != expected) {
            throw new IdxFormatException(file, String.format(
                    "bad magic number 0x%08x, expected 0x%08x for an IDX %s file%s", magic, expected, kind,
                    magic == (expected == IMAGES_MAGIC ? LABELS_MAGIC : IMAGES_MAGIC)
                            ? " (images and labels files swapped?)" : ""));
        }
    }

    private static int readHeaderInt(InputStream in, Path file, String what) throws IOException {
        byte[] b = readChecked(in, file, 4);
        if (b.length < 4) {
            throw new IdxFormatException(file, "truncated header: file ends before the " + what);
        }
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    private static byte[] readPayload(InputStream in, Path file, int size, String what) throws IOException {
        byte[] data = readChecked(in, file, size);
        if (data.length < size) {
            throw new IdxFormatException(file, "truncated: header announces " + what + " (" + size
                    + " bytes), but the file holds only " + data.length);
        }
        if (readChecked(in, file, 1).length != 0) {
            throw new IdxFormatException(file, "trailing bytes after the " + size + " bytes announced by the header ("
                    + what + ")");
        }
        return data;
    }

    /** readNBytes that turns gzip corruption and a cut-off gzip stream into {@link IdxFormatException}. */
    private static byte[] readChecked(InputStream in, Path file, int n) throws IOException {
        try {
            return in.readNBytes(n);
        } catch (EOFException e) {
            throw new IdxFormatException(file, "truncated gzip stream (" + e.getMessage() + ")", e);
        } catch (ZipException e) {
            throw new IdxFormatException(file, "corrupt gzip data (" + e.getMessage() + ")", e);
        }
    }

    private static UncheckedIOException ioFailure(Path file, IOException e) {
        if (e instanceof NoSuchFileException) {
            return new UncheckedIOException("IDX file not found: " + file.toAbsolutePath(), e);
        }
        return new UncheckedIOException("Cannot read IDX file " + file.toAbsolutePath() + ": " + e.getMessage(), e);
    }
}
