package org.quant4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 * <li>The temporary name stays within {@value #MAX_NAME_BYTES} bytes (counted in UTF-8), the longest file name of
 * common file systems: where {@code .<target name>.<random>.tmp} would be longer, the target name in it is cut to
 * fit (a target whose own name is legal is never refused for its temporary name).</li>
 * <li>A target that is a symbolic link is followed, link after link (at most {@value #MAX_LINKS}), to the file it
 * finally names: the temporary file is made beside that file and renamed over it, so the link stays a link and the
 * file it points to gets the new content ({@code model.q4j -> v3.q4j}: {@code v3.q4j} is replaced). A dangling link
 * is followed too: the file it names is created, provided its directory exists (directories are not created through a
 * link: {@link java.nio.file.NoSuchFileException} naming the link and its target). A loop of links fails like the
 * operating system's own ("too many levels of symbolic links"). The link is read once, before writing: one replaced
 * meanwhile is not noticed.</li>
 * <li>Its content is forced to the storage device before the rename; the rename is atomic
 * ({@link StandardCopyOption#ATOMIC_MOVE}), or, where the file system cannot rename atomically, a plain replacing
 * move.</li>
 * <li>When anything fails, the temporary file is deleted and the target is left as it was (absent, or the old
 * file); the exception is thrown on.</li>
 * <li>The target's parent directories are created when missing (for a target given directly, not through a
 * link).</li>
 * </ul>
 * Every method returns the target it was given (the link, for a link).
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
    /** The longest file name, in bytes, of Linux's file systems (ext4, xfs, btrfs, tmpfs: NAME_MAX) and of APFS. */
    static final int MAX_NAME_BYTES = 255;
    /** The most links followed from a target, as Linux's own path resolution (MAXSYMLINKS). */
    static final int MAX_LINKS = 40;
    /** {@code .}, {@code .}, the random part at its longest (an unsigned long in base 36) and {@code .tmp}. */
    private static final int TEMP_NAME_OVERHEAD = 2 + Long.toUnsignedString(-1L, 36).length() + ".tmp".length();

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
        Path file = followLinks(target.toAbsolutePath());
        Path dir = file.getParent();
        if (dir == null) {
            throw new FileSystemException(target.toString(), file.toString(), "not a file that can be written");
        }
        if (file.equals(target.toAbsolutePath())) {
            Files.createDirectories(dir);
        } else if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(target.toString(), file.toString(),
                    "the symbolic link points into a directory that does not exist");
        }
        Path temp = createSibling(dir, file.getFileName().toString());
        try {
            fill.writeTo(temp);
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
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
     * The file {@code path} finally names: itself unless it is a symbolic link, else the link's target, followed
     * again while that is a link (a relative target is resolved against the link's directory, as the system does).
     */
    static Path followLinks(Path path) throws IOException {
        Path file = path;
        for (int links = 0; Files.isSymbolicLink(file); links++) {
            if (links == MAX_LINKS) {
                throw new FileSystemException(path.toString(), file.toString(),
                        "too many levels of symbolic links (more than " + MAX_LINKS + ")");
            }
            file = file.resolveSibling(Files.readSymbolicLink(file));
        }
        return file;
    }

    /**
     * The temporary file's name for target {@code name} and random part {@code random}:
     * {@code .<name>.<random>.tmp}, the name cut (at a character boundary) so that the whole fits in
     * {@link #MAX_NAME_BYTES} UTF-8 bytes.
     */
    static String tempName(String name, String random) {
        ByteBuffer budget = ByteBuffer.allocate(MAX_NAME_BYTES - TEMP_NAME_OVERHEAD);
        CharBuffer chars = CharBuffer.wrap(name);
        // The encoder stops before the first character that does not fit whole (a surrogate pair is one character).
        StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE).encode(chars, budget, true);
        return "." + name.substring(0, chars.position()) + "." + random + ".tmp";
    }

    /**
     * A new empty file {@code .<name>.<random>.tmp} ({@link #tempName}) in {@code dir}, created as
     * {@link Files#createFile} creates one: with the permissions of any new file of this process (unlike
     * {@link Files#createTempFile}'s owner-only ones).
     */
    private static Path createSibling(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            String random = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
            Path temp = dir.resolve(tempName(name, random));
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
