package org.quant4j.file;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/** Zip files made entry by entry for tests of the model file: any names, order, repeats, method and content. */
public final class ModelZips {

    private ModelZips() {
    }

    /** A zip entry: its name, inflated bytes, and whether it is stored rather than deflated. */
    public record Entry(String name, byte[] bytes, boolean stored) {
        public Entry(String name, byte[] bytes) {
            this(name, bytes, false);
        }
    }

    /** The entries of a zip, in order (a model file's two). */
    public static List<Entry> entries(byte[] zip) {
        List<Entry> entries = new ArrayList<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                entries.add(new Entry(e.getName(), in.readAllBytes()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return entries;
    }

    /** The inflated bytes of the entry {@code name} of a zip. */
    public static byte[] entry(byte[] zip, String name) {
        return entries(zip).stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow().bytes();
    }

    /**
     * A zip of {@code entries}, in order. ZipOutputStream refuses a name twice, so a repeated name is written with
     * its last character changed and put back in the bytes (its local header and the central directory) afterwards:
     * the checksums do not cover names.
     */
    public static byte[] zip(List<Entry> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<String[]> renames = new ArrayList<>();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            List<String> written = new ArrayList<>();
            for (Entry entry : entries) {
                String name = entry.name();
                if (written.contains(name)) {
                    String standIn = name.substring(0, name.length() - 1) + (char) ('0' + renames.size());
                    renames.add(new String[] {standIn, name});
                    name = standIn;
                }
                written.add(name);
                ZipEntry e = new ZipEntry(name);
                if (entry.stored()) {
                    CRC32 crc = new CRC32();
                    crc.update(entry.bytes());
                    e.setMethod(ZipEntry.STORED);
                    e.setSize(entry.bytes().length);
                    e.setCompressedSize(entry.bytes().length);
                    e.setCrc(crc.getValue());
                }
                zip.putNextEntry(e);
                zip.write(entry.bytes());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] out = bytes.toByteArray();
        for (String[] rename : renames) {
            replaceAll(out, rename[0].getBytes(StandardCharsets.UTF_8), rename[1].getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    private static void replaceAll(byte[] data, byte[] from, byte[] to) {
        for (int i = 0; i + from.length <= data.length; i++) {
            if (Arrays.equals(data, i, i + from.length, from, 0, from.length)) {
                System.arraycopy(to, 0, data, i, to.length);
            }
        }
    }

    /**
     * The entries with entry {@code which}'s content replaced by {@code size} bytes of {@code fill} (rounded up to
     * whole MiB), deflated at the fastest level: with zeros, a zip bomb of 229 times (the default level reaches
     * 1,000, three times slower to make). Streamed, never held inflated.
     */
    public static byte[] zipWithFill(List<Entry> entries, int which, long size, byte fill) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.setLevel(Deflater.BEST_SPEED);
            for (int i = 0; i < entries.size(); i++) {
                zip.putNextEntry(new ZipEntry(entries.get(i).name()));
                if (i == which) {
                    byte[] block = new byte[1 << 20];
                    Arrays.fill(block, fill);
                    for (long written = 0; written < size; written += block.length) {
                        zip.write(block);
                    }
                } else {
                    zip.write(entries.get(i).bytes());
                }
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }
}
