package org.quant4j.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The case a fuzz property is about to try, written down before it runs: when a case brings the JVM down (a native
 * crash is no exception a property can catch), the process that launched the fuzz suite reads the last case from the
 * file named by the system property {@value #FILE_PROPERTY} and names it in its failure. Also counts the cases tried
 * per property, for the suite's figures.
 */
public final class CaseLog {

    /** The system property naming the file the current case is written to; no file is written when it is unset. */
    public static final String FILE_PROPERTY = "quant4j.fuzz.caselog";

    private static final Map<String, AtomicLong> TRIED = new ConcurrentHashMap<>();

    private CaseLog() {
    }

    /** Records that the calling property (class and method) is about to try the case {@code description}. */
    public static void record(String description) {
        String property = StackWalker.getInstance().walk(frames -> frames.skip(1).findFirst()
                .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName())
                .orElse("?"));
        TRIED.computeIfAbsent(property, p -> new AtomicLong()).incrementAndGet();
        String file = System.getProperty(FILE_PROPERTY);
        if (file == null) {
            return;
        }
        try {
            Files.writeString(Path.of(file), property + ": " + description + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE,
                    StandardOpenOption.DSYNC);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the fuzz case log " + file, e);
        }
    }

    /** The cases tried so far, by property, sorted by name. */
    public static Map<String, Long> tried() {
        Map<String, Long> result = new TreeMap<>();
        TRIED.forEach((p, n) -> result.put(p, n.get()));
        return result;
    }
}
