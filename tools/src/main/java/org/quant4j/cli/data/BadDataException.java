package org.quant4j.cli.data;

/** Input data that cannot be used: the message names the file and the row, entry or shape. Exit code 2. */
public final class BadDataException extends RuntimeException {

    public BadDataException(String message) {
        super(message);
    }

    public BadDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
