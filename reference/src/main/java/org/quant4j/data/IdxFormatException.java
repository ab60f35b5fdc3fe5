package org.quant4j.data;

import java.nio.file.Path;

/**
 * An IDX file is malformed: wrong magic number, implausible header, truncated or oversized payload, or
 * a corrupt gzip stream. The message always names the file and what is wrong with it.
 */
public final class IdxFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    /**
     * @param file the offending file
     * @param problem what is wrong, e.g. "truncated: expected 7840000 pixel bytes, found 1000"
     */
    public IdxFormatException(Path file, String problem) {
        this(file, problem, null);
    }

    /**
     * @param file the offending file
     * @param problem what is wrong
     * @param cause the underlying error, if any
     */
    public IdxFormatException(Path file, String problem, Throwable cause) {
        super("Invalid IDX file " + file.toAbsolutePath() + ": " + problem, cause);
        this.file = file;
    }

    /** The offending file. */
    public Path file() {
        return file;
    }
}
