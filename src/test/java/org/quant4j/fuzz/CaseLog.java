package org.quant4j.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fuzz case about to run, written where a parent process can read it if the JVM dies in native code: the file
 * named by the system property {@value #PROPERTY}, overwritten with each case (its description: the property and the
 * mutation). Written and closed before the case runs, so the text is in the operating system's hands when the
 * process crashes. Nothing is written when the property is not set.
 */
public final class CaseLog {

    /** The system property naming the file. */
    public static final String PROPERTY = "quant4j.fuzz.caselog";

    private CaseLog() {
    }

    /** Records {@code description} as the case now running (a no-op without {@value #PROPERTY}). */
    public static void record(String description) {
        String file = System.getProperty(PROPERTY);
        if (file == null || file.isEmpty()) {
            return;
        }
        try {
            Files.writeString(Path.of(file), description + System.lineSeparator());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the fuzz case in " + file, e);
        }
    }
}
