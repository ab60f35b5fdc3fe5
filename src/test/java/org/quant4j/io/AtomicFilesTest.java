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
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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

    @Test
    void aSymbolicLinkIsFollowedAndStaysALink() throws IOException {
        Path v3 = Files.writeString(tmp.resolve("v3.q4j"), "version 3");
        Path link = Files.createSymbolicLink(tmp.resolve("model.q4j"), Path.of("v3.q4j")); // relative, as ln -s
        assertSame(link, AtomicFiles.writeString(link, "version 4"));
        assertTrue(Files.isSymbolicLink(link), "the link is still a link");
        assertEquals(Path.of("v3.q4j"), Files.readSymbolicLink(link));
        assertEquals("version 4", Files.readString(v3));
        assertEquals(Set.of("v3.q4j", "model.q4j"), names(tmp), "no temporary file left");

        // A chain of links into another directory: the last file is written, beside itself.
        Path releases = Files.createDirectories(tmp.resolve("releases"));
        Path v5 = Files.writeString(releases.resolve("v5.q4j"), "version 5");
        Path current = Files.createSymbolicLink(tmp.resolve("current.q4j"), v5.toAbsolutePath());
        Path alias = Files.createSymbolicLink(tmp.resolve("alias.q4j"), Path.of("current.q4j"));
        AtomicFiles.writeString(alias, "version 6");
        assertTrue(Files.isSymbolicLink(alias) && Files.isSymbolicLink(current));
        assertEquals("version 6", Files.readString(v5));
        assertEquals(Set.of("v5.q4j"), names(releases));
    }

    @Test
    void aFileWrittenThroughALinkHasThePermissionsOfAPlainNewFile() throws IOException {
        assumeTrue(Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class), "not POSIX");
        Set<PosixFilePermission> plain = Files.getPosixFilePermissions(Files.createFile(tmp.resolve("plain")));
        Path target = Files.writeString(tmp.resolve("target"), "old");
        Files.setPosixFilePermissions(target, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OTHERS_WRITE));
        AtomicFiles.writeString(Files.createSymbolicLink(tmp.resolve("link"), target), "new");
        assertEquals(plain, Files.getPosixFilePermissions(target));
    }

    @Test
    void aDanglingLinkCreatesTheFileItNamesInAnExistingDirectory() throws IOException {
        Path link = Files.createSymbolicLink(tmp.resolve("model.q4j"), Path.of("v1.q4j"));
        AtomicFiles.writeString(link, "first");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("first", Files.readString(tmp.resolve("v1.q4j")));

        // Into a directory that does not exist: refused, naming both, and nothing created.
        Path nowhere = Files.createSymbolicLink(tmp.resolve("nowhere.q4j"), tmp.resolve("missing/v1.q4j"));
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> AtomicFiles.writeString(nowhere, "lost"));
        assertTrue(e.getMessage().contains("nowhere.q4j") && e.getMessage().contains("missing/v1.q4j")
                && e.getMessage().contains("does not exist"), e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("missing")));
        assertEquals(Set.of("model.q4j", "v1.q4j", "nowhere.q4j"), names(tmp));
    }

    @Test
    void aLoopOfLinksFailsAndWritesNothing() throws IOException {
        Path a = tmp.resolve("a.q4j");
        Path b = tmp.resolve("b.q4j");
        Files.createSymbolicLink(a, b.getFileName());
        Files.createSymbolicLink(b, a.getFileName());
        FileSystemException e = assertThrows(FileSystemException.class, () -> AtomicFiles.writeString(a, "x"));
        assertTrue(e.getMessage().contains("too many levels of symbolic links"), e.getMessage());
        assertEquals(Set.of("a.q4j", "b.q4j"), names(tmp));
    }

    @Test
    void aFailedWriteThroughALinkLeavesTheTargetAndNoTemporaryFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("store"));
        Path target = Files.writeString(dir.resolve("v2.q4j"), "the old model");
        Path link = Files.createSymbolicLink(tmp.resolve("model.q4j"), target);
        assertThrows(IOException.class, () -> AtomicFiles.writeStream(link, out -> {
            out.write(new byte[1000]);
            throw new IOException("disk full");
        }));
        assertEquals("the old model", Files.readString(target));
        assertEquals(Set.of("v2.q4j"), names(dir));
        assertEquals(Set.of("store", "model.q4j"), names(tmp));
    }

    @Test
    void namesUpTo255BytesSaveAndTheirTemporaryNamesFit() throws IOException {
        String ascii = "m".repeat(251) + ".q4j"; // 255 bytes, the longest legal name
        String twoByte = "é".repeat(125) + ".q4j"; // 254 bytes of UTF-8 in 129 characters
        String fourByte = "\uD83D\uDE00".repeat(62) + ".q4j"; // 252 bytes: 62 emoji (surrogate pairs), never split
        String longestRandom = Long.toUnsignedString(-1L, 36);
        for (String name : List.of(ascii, twoByte, fourByte, "short.q4j")) {
            String temp = AtomicFiles.tempName(name, longestRandom);
            assertTrue(temp.getBytes(StandardCharsets.UTF_8).length <= 255, temp);
            assertTrue(temp.startsWith(".") && temp.endsWith("." + longestRandom + ".tmp"), temp);
            String kept = temp.substring(1, temp.length() - longestRandom.length() - ".tmp".length() - 1);
            assertTrue(name.equals(kept) || name.startsWith(kept) && kept.getBytes(StandardCharsets.UTF_8).length
                    >= 233, "the name, or as long a prefix of it as fits, is kept: " + kept);
            assertEquals(temp, new String(temp.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8),
                    "no character cut in half");
            Path target;
            try {
                target = tmp.resolve(name);
            } catch (java.nio.file.InvalidPathException e) {
                continue; // a file system that cannot name it at all
            }
            AtomicFiles.writeString(target, name);
            assertEquals(name, Files.readString(target));
        }
        assertEquals(".short.q4j.x.tmp", AtomicFiles.tempName("short.q4j", "x"), "short names are kept whole");
        assertEquals(Set.of(ascii, twoByte, fourByte, "short.q4j"), names(tmp), "no temporary file left");

        // A name too long for the file system fails at the rename and leaves nothing.
        Path tooLong = tmp.resolve("m".repeat(256));
        assertThrows(IOException.class, () -> AtomicFiles.writeString(tooLong, "x"));
        assertEquals(Set.of(ascii, twoByte, fourByte, "short.q4j"), names(tmp));
    }

    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet());
        }
    }
}
