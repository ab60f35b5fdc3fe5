package org.quant4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Atomic file writes, the one way quant4j and its tools write a file: the content goes to a new file beside the
 * target, which is forced to disk and then renamed over the target, so that a reader sees the old file or the whole
 * new one, never a part.
 *
 * <p>Contract of every {@code write} method:
 * <ul>
 * <li>The temporary file is {@code .<target name>.<random>.tmp} in the target's directory (so that the rename stays
 * within one file system), created new, without explicit permissions: it gets what any new file of this process gets
 * ({@code 0666} less the umask on POSIX systems), and so does the target, which it becomes. An existing target's
 * permissions are not carried over.</li>
 * <li>Its content is forced to the storage device before the rename; the rename is atomic
 * ({@link StandardCopyOption#ATOMIC_MOVE}), or, where the file system cannot rename atomically, a plain replacing
 * move.</li>
 * <li>When anything fails, the temporary file is deleted and the target is left as it was (absent, or the old
 * file); the exception is thrown on.</li>
 * <li>The target's parent directories are created when missing.</li>
 * </ul>
 */
public final class AtomicFiles {

    /** Writes a file's content to the path it is given (a new, empty file). */
    @FunctionalInterface
    public interface Writer {
        void writeTo(Path file) throws IOException;
    }

    /**
     * Writes a file's content to a stream. The stream need not be closed; closing it only flushes it, and the file is
     * finished (forced to disk, renamed) after the writer has returned.
     */
    @FunctionalInterface
    public interface StreamWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    private static final int MAX_NAME_ATTEMPTS = 100;

    private AtomicFiles() {
    }

    /** Writes {@code target} through {@code writer}, which writes to a path (a new, empty file); returns the target. */
    public static Path write(Path target, Writer writer) throws IOException {
        return replace(target, temp -> {
            writer.writeTo(temp);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
        });
    }

    /** Writes {@code target} through {@code writer}, which writes to a stream; returns the target. */
    public static Path writeStream(Path target, StreamWriter writer) throws IOException {
        return replace(target, temp -> {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
                writer.writeTo(NonClosing.output(out));
                out.flush();
                channel.force(true);
            }
        });
    }

    /** Writes {@code bytes} to {@code target}; returns the target. */
    public static Path write(Path target, byte[] bytes) throws IOException {
        return writeStream(target, out -> out.write(bytes));
    }

    /** Writes {@code text} to {@code target} in UTF-8; returns the target. */
    public static Path writeString(Path target, CharSequence text) throws IOException {
        return write(target, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static Path replace(Path target, Writer fill) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = createSibling(dir, target.getFileName().toString());
        try {
            fill.writeTo(temp);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        forceDirectory(dir);
        return target;
    }

    /**
     * A new empty file {@code .<name>.<random>.tmp} in {@code dir}, created as {@link Files#createFile} creates one:
     * with the permissions of any new file of this process (unlike {@link Files#createTempFile}'s owner-only ones).
     */
    private static Path createSibling(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            String random = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
            Path temp = dir.resolve("." + name + "." + random + ".tmp");
            try {
                return Files.createFile(temp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= MAX_NAME_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /** Forces the directory's entry of the renamed file to disk, where the platform allows it (not on Windows). */
    private static void forceDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // The rename is done; only its durability across a power loss is left to the file system.
        }
    }
}
