package org.quant4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The command line in a JVM of its own (logging is set up once per JVM, before ND4J starts): no library INFO lines
 * without {@code --verbose}, INFO lines with it. (ND4J's import-mapping warnings, whose logger is always off, are
 * not logged on these paths at all, so no test here could see them.)
 */
class QuietLoggingTest {

    @TempDir
    Path dir;

    @Test
    void libraryInfoOnlyWithVerbose() throws Exception {
        Path model = TinyNetworks.save(TinyNetworks.mlp(), dir.resolve("mlp.zip"));
        Path calibration = dir.resolve("calibration.npy");
        Nd4j.writeAsNumpy(Nd4j.rand(DataType.FLOAT, 8, 784), calibration.toFile());

        String quiet = runMain("quantize", model.toString(), "--calibration", calibration.toString(), "-o",
                dir.resolve("quiet.q4j").toString());
        assertFalse(quiet.contains(" INFO "), quiet);
        assertTrue(quiet.contains("quantized "), quiet);

        String verbose = runMain("quantize", model.toString(), "--calibration", calibration.toString(), "-o",
                dir.resolve("verbose.q4j").toString(), "--verbose");
        assertTrue(verbose.contains(" INFO org.nd4j"), verbose);
    }

    /** Standard output and error of {@code Main} in a new JVM with the test's class path. */
    private String runMain(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        Path log = Files.createTempFile(dir, "main", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the command line finished");
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), output);
        return output;
    }
}
