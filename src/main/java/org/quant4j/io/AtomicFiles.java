package org.quant4j.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Atomic file writes: the content goes to a temporary file beside the target, which is then renamed over it, so
 * a reader never sees a half-written file and a failed write leaves the target as it was.
 */
public final class AtomicFiles {

    /** Writes a file's content to the path it is given. */
    @FunctionalInterface
    public interface Writer {
        void writeTo(Path file) throws IOException;
    }

    private AtomicFiles() {
    }

    /** Writes {@code target} through {@code writer}, atomically; creates the parent directories. */
    public static Path write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
        try {
            writer.writeTo(temp);
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
        return target;
    }

    /** Writes {@code bytes} to {@code target}, atomically. */
    public static Path write(Path target, byte[] bytes) throws IOException {
        return write(target, file -> Files.write(file, bytes));
    }
}
