package org.quant4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AtomicFiles: new files get the process's normal permissions; a failed write changes nothing and leaves nothing. */
class AtomicFilesTest {

    @TempDir
    Path tmp;

    @Test
    void everyWriteGivesTheFilePermissionsOfAPlainNewFile() throws IOException {
        assumeTrue(Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class), "not POSIX");
        Set<PosixFilePermission> plain = Files.getPosixFilePermissions(Files.createFile(tmp.resolve("plain")));
        List<Path> written = List.of(
                AtomicFiles.write(tmp.resolve("bytes"), new byte[] {1, 2}),
                AtomicFiles.writeString(tmp.resolve("text.html"), "<p>x</p>"),
                AtomicFiles.writeStream(tmp.resolve("stream"), out -> out.write(3)),
                AtomicFiles.write(tmp.resolve("path"), file -> Files.write(file, new byte[] {4})));
        for (Path p : written) {
            assertEquals(plain, Files.getPosixFilePermissions(p), p.getFileName() + " against a Files.createFile file");
        }
        // Replacing a file gives it the same permissions, whatever the old file had.
        Path old = tmp.resolve("bytes");
        Files.setPosixFilePermissions(old, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
        AtomicFiles.write(old, new byte[] {5});
        assertEquals(plain, Files.getPosixFilePermissions(old));
        assertEquals(Set.of("bytes", "text.html", "stream", "path", "plain"), names(tmp));
    }

    @Test
    void writesReplaceTheFileAndCreateItsDirectories() throws IOException {
        Path target = tmp.resolve("a/b/report.json");
        assertSame(target, AtomicFiles.writeString(target, "first"));
        assertEquals("first", Files.readString(target));
        AtomicFiles.writeString(target, "second, longer than the first");
        assertEquals("second, longer than the first", Files.readString(target));
        // A writer that closes the stream it was given does no harm: the close only flushes.
        AtomicFiles.writeStream(target, out -> {
            out.write("third".getBytes(StandardCharsets.UTF_8));
            out.close();
        });
        assertEquals("third", Files.readString(target));
        assertEquals(Set.of("report.json"), names(target.getParent()));
    }

    @Test
    void aFailingWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path target = tmp.resolve("model.q4j");
        byte[] old = "the old model".getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(target, old);

        IOException io = assertThrows(IOException.class, () -> AtomicFiles.writeStream(target, out -> {
            out.write(new byte[100_000]);
            throw new IOException("disk full");
        }));
        assertEquals("disk full", io.getMessage());
        assertArrayEquals(old, Files.readAllBytes(target));

        assertThrows(UncheckedIOException.class, () -> AtomicFiles.write(target, file -> {
            Files.write(file, new byte[10]);
            throw new UncheckedIOException(new IOException("serializer failed"));
        }));
        assertArrayEquals(old, Files.readAllBytes(target));

        // No file yet: a failed write leaves none.
        Path absent = tmp.resolve("absent.json");
        assertThrows(IllegalStateException.class, () -> AtomicFiles.writeStream(absent, out -> {
            out.write(1);
            throw new IllegalStateException("bug");
        }));
        assertTrue(Files.notExists(absent));
        assertEquals(Set.of("model.q4j"), names(tmp));
    }

    @Test
    void aTargetThatCannotBeReplacedFailsAndLeavesNoTemporaryFile() throws IOException {
        Path target = tmp.resolve("out/report.json");
        Files.createDirectories(target);
        Files.writeString(target.resolve("keep.txt"), "user data");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(target, "{}"));
        assertTrue(String.valueOf(e.getMessage()).contains("report.json"), e.toString());
        assertEquals(Set.of("report.json"), names(tmp.resolve("out")));
        assertEquals("user data", Files.readString(target.resolve("keep.txt")));
    }

    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet());
        }
    }
}
