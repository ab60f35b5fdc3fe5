package org.quant4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.quant4j.report.html.ReportData;

/**
 * Every bounded option of every subcommand, just outside its range (a usage error, exit code 2, one line naming the
 * option, the value and the range, before any work: MODEL and Q4J do not exist, which would be exit code 1) and at
 * its ends (accepted: the command goes on to read MODEL or Q4J and fails there, exit code 1). In the arguments,
 * {@code @file} stands for an existing file and {@code @dir} for an existing directory.
 */
class OptionBoundsTest {

    @TempDir
    static Path dir;
    static Path file;

    @BeforeAll
    static void paths() throws IOException {
        file = Files.writeString(dir.resolve("a-file"), "not a directory");
    }

    static Stream<Arguments> outOfRange() {
        return Stream.of(
                refused("--calibration-images must be in 1..60000, got 0", "quantize", "m.zip", "--calibration-images", "0"),
                refused("--calibration-images must be in 1..60000, got 60001", "quantize", "m.zip", "--calibration-images", "60001"),
                refused("--batch-size must be in 1..60000, got 0", "quantize", "m.zip", "--batch-size", "0"),
                refused("--batch-size must be in 1..60000, got 60001", "quantize", "m.zip", "--batch-size", "60001"),
                refused("--sequential-passes must be in 0..10, got -1", "quantize", "m.zip", "--sequential-passes", "-1"),
                refused("--sequential-passes must be in 0..10, got 11", "quantize", "m.zip", "--sequential-passes", "11"),
                refused("--weight-bits must be in 2..8, got 1", "quantize", "m.zip", "--weight-bits", "1"),
                refused("--weight-bits must be in 2..8, got 0", "quantize", "m.zip", "--weight-bits", "0"),
                refused("--weight-bits must be in 2..8, got 9", "quantize", "m.zip", "--weight-bits", "9"),
                refused("--activation-bits must be in 2..8, got 1", "quantize", "m.zip", "--activation-bits", "1"),
                refused("--activation-bits must be in 2..8, got 9", "quantize", "m.zip", "--activation-bits", "9"),
                refused("--output must be a file, got @dir, which is a directory", "quantize", "m.zip", "-o", "@dir"),
                refused("--report must be a directory, got @file, which is a file", "quantize", "m.zip", "--report", "@file"),
                refused("--data-dir must be a directory, got @file, which is a file", "quantize", "m.zip", "--data-dir", "@file"),

                refused("--label-column must be in -1..1000000, got -2", "quantize", "m.zip", "--label-column", "-2"),
                refused("--skip-lines must be in 0..2147483647, got -1", "report", "q.q4j", "-o", "@dir", "--skip-lines", "-1"),
                refused("--channel-order must be bgr or rgb, got gbr", "ranges", "m.zip", "--channel-order", "gbr"),
                refused("--input-shape sizes must be in 1..1000000, got [0, 8, 8]", "eval", "m.zip", "q.q4j", "--input-shape", "0,8,8"),
                refused("--threads must be in 1..1024, got 1025", "bench", "m.zip", "q.q4j", "--threads", "2,1025"),
                refused("--batch-sizes must be in 1..65536, got 65537", "bench", "m.zip", "q.q4j", "--batch-sizes", "65537"),
                refused("--json must be a file, got @dir, which is a directory", "bench", "m.zip", "q.q4j", "--json", "@dir"),
                refused("--input-shape must be C,H,W, each in 1..1000000, got [1, 28]", "bench", "m.zip", "q.q4j", "--input-shape", "1,28"),

                refused("--images must be in 1..10000, got 0", "eval", "m.zip", "q.q4j", "--images", "0"),
                refused("--images must be in 1..10000, got 10001", "eval", "m.zip", "q.q4j", "--images", "10001"),
                refused("--batch-size must be in 1..10000, got 0", "eval", "m.zip", "q.q4j", "--batch-size", "0"),
                refused("--batch-size must be in 1..10000, got 10001", "eval", "m.zip", "q.q4j", "--batch-size", "10001"),
                refused("--report must be a directory, got @file, which is a file", "eval", "m.zip", "q.q4j", "--report", "@file"),
                refused("--data-dir must be a directory, got @file, which is a file", "eval", "m.zip", "q.q4j", "--data-dir", "@file"),

                refused("--batches must be in 1..100000, got 0", "bench", "m.zip", "q.q4j", "--batches", "0"),
                refused("--batches must be in 1..100000, got 100001", "bench", "m.zip", "q.q4j", "--batches", "100001"),
                refused("--batches must be in 1..100000, got 2147483647", "bench", "m.zip", "q.q4j", "--batches", "2147483647"),
                refused("--warmup must be in 0..100000, got -1", "bench", "m.zip", "q.q4j", "--warmup", "-1"),
                refused("--warmup must be in 0..100000, got 2147483647", "bench", "m.zip", "q.q4j", "--warmup", "2147483647"),
                refused("--batch-size must be in 1..65536, got 0", "bench", "m.zip", "q.q4j", "--batch-size", "0"),
                refused("--batch-size must be in 1..65536, got 65537", "bench", "m.zip", "q.q4j", "--batch-size", "65537"),
                refused("--report must be a directory, got @file, which is a file", "bench", "m.zip", "q.q4j", "--report", "@file"),

                refused("--calibration-images must be in 1..60000, got 0", "report", "q.q4j", "-o", "@dir", "--calibration-images", "0"),
                refused("--calibration-images must be in 1..60000, got 60001", "report", "q.q4j", "-o", "@dir", "--calibration-images", "60001"),
                refused("--batch-size must be in 1..60000, got 0", "report", "q.q4j", "-o", "@dir", "--batch-size", "0"),
                refused("--batch-size must be in 1..60000, got 60001", "report", "q.q4j", "-o", "@dir", "--batch-size", "60001"),
                refused("--output must be a directory, got @file, which is a file", "report", "q.q4j", "-o", "@file"),

                refused("--calibration-images must be in 1..60000, got 0", "demo", "--calibration-images", "0"),
                refused("--calibration-images must be in 1..60000, got 60001", "demo", "--calibration-images", "60001"),
                refused("--bits must be in 2..8, got 1", "demo", "--bits", "1"),
                refused("--bits must be in 2..8, got 9", "demo", "--bits", "9"),
                refused("--output must be a file, got @dir, which is a directory", "demo", "--output", "@dir"),
                refused("--report must be a directory, got @file, which is a file", "demo", "--report", "@file"),
                refused("--model must be a file, got @dir, which is a directory", "demo", "--model", "@dir"),

                refused("--out must be a directory, got @file, which is a file", "train", "mlp-mnist", "--out", "@file"),

                refused("--calibration-images must be in 1..60000, got 0", "accuracy", "--calibration-images", "0"),
                refused("--calibration-images must be in 1..60000, got 60001", "accuracy", "--calibration-images", "60001"),
                refused("--calibration-draws must be in 1..100, got 0", "accuracy", "--calibration-draws", "0"),
                refused("--calibration-draws must be in 1..100, got 101", "accuracy", "--calibration-draws", "101"),
                refused("--test-images must be in 1..10000, got 0", "accuracy", "--test-images", "0"),
                refused("--test-images must be in 1..10000, got 10001", "accuracy", "--test-images", "10001"),
                refused("--batch-size must be in 1..10000, got 0", "accuracy", "--batch-size", "0"),
                refused("--batch-size must be in 1..10000, got 10001", "accuracy", "--batch-size", "10001"),
                refused("--models must be a directory, got @file, which is a file", "accuracy", "--models", "@file"),
                refused("--out must be a directory, got @file, which is a file", "accuracy", "--out", "@file"),
                refused("--methods: 'patent+seq11': the N of +seqN must be in 0..10, got 11", "accuracy", "--methods", "patent+seq11"),
                refused("--methods: 'mse+seq99999999999': the N of +seqN must be in 0..10", "accuracy", "--methods", "mse+seq99999999999"),
                refused("--methods: the N of +adaN must be in 0..20000, got 20001", "accuracy", "--methods", "patent+ada20001"),
                refused("--methods: the N of +adaN must be in 0..20000, got 99999999999", "accuracy", "--methods", "patent+ada99999999999"),
                refused("--adaround must be in 1..20000, got 0", "quantize", "m.zip", "--adaround", "0"),
                refused("--adaround must be in 1..20000, got 20001", "quantize", "m.zip", "--adaround", "20001"),
                refused("--preset: unknown preset 'w8' (known: w4)", "quantize", "m.zip", "--preset", "w8"),

                refused("--bits must be in 2..8, got 1", "ranges", "m.zip", "--bits", "1"),
                refused("--bits must be in 2..8, got 9", "ranges", "m.zip", "--bits", "9"),
                refused("--calibration-images must be in 1..60000, got 0", "ranges", "m.zip", "--calibration-images", "0"),
                refused("--calibration-images must be in 1..60000, got 60001", "ranges", "m.zip", "--calibration-images", "60001"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("outOfRange")
    void outOfRangeIsAUsageErrorBeforeAnyWork(String expected, String[] args) {
        MainTest.Run r = MainTest.run(resolve(args));
        assertEquals(Main.USAGE, r.code(), r.err());
        assertOneLine(r, resolve(expected));
    }

    static Stream<Arguments> atTheEnds() {
        return Stream.of(
                accepted("quantize", "m.zip", "--calibration-images", "1", "--batch-size", "1", "--sequential-passes", "0",
                        "--weight-bits", "2", "--activation-bits", "2"),
                accepted("quantize", "m.zip", "--calibration-images", "60000", "--batch-size", "60000",
                        "--sequential-passes", "10", "--weight-bits", "8", "--activation-bits", "8", "-o", "@dir/new.q4j",
                        "--report", "@dir", "--data-dir", "@dir"),
                accepted("quantize", "m.zip", "--adaround", "1", "--preset", "w4"),
                accepted("quantize", "m.zip", "--adaround", "20000"),
                accepted("quantize", "m.zip", "--adaround"),
                accepted("eval", "m.zip", "q.q4j", "--images", "1", "--batch-size", "1"),
                accepted("eval", "m.zip", "q.q4j", "--images", "10000", "--batch-size", "10000", "--report", "@dir"),
                accepted("bench", "m.zip", "q.q4j", "--batches", "1", "--warmup", "0", "--batch-size", "1"),
                accepted("bench", "m.zip", "q.q4j", "--batches", "100000", "--warmup", "100000", "--batch-size", "65536",
                        "--report", "@dir"),
                accepted("report", "q.q4j", "-o", "@dir", "--calibration-images", "1", "--batch-size", "1"),
                accepted("report", "q.q4j", "-o", "@dir/new", "--calibration-images", "60000", "--batch-size", "60000"),
                accepted("accuracy", "--networks", "lenet-mnist", "--models", "@dir/none", "--calibration-images", "1",
                        "--calibration-draws", "1", "--test-images", "1", "--batch-size", "1", "--methods", "patent+seq0"),
                accepted("accuracy", "--networks", "lenet-mnist", "--models", "@dir/none", "--calibration-images", "60000",
                        "--calibration-draws", "100", "--test-images", "10000", "--batch-size", "10000",
                        "--methods", "patent+seq10", "--out", "@dir"),
                accepted("ranges", "m.zip", "--bits", "2", "--calibration-images", "1"),
                accepted("quantize", "m.zip", "--label-column", "-1", "--skip-lines", "0", "--input-shape", "1,1,1"),
                accepted("eval", "m.zip", "q.q4j", "--label-column", "1000000", "--channel-order", "rgb",
                        "--input-shape", "1000000"),
                accepted("bench", "m.zip", "q.q4j", "--threads", "1,1024", "--batch-sizes", "1,65536", "--json", "@dir/b.json"),
                accepted("ranges", "m.zip", "--bits", "8", "--calibration-images", "60000"));
    }

    /** Accepted values: the command goes on to its first piece of work, reading a file that is not there. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("atTheEnds")
    void theEndsOfEachRangeAreAccepted(String[] args) {
        MainTest.Run r = MainTest.run(resolve(args));
        assertEquals(Main.FAILED, r.code(), r.err());
        assertTrue(r.err().contains("no such") || r.err().contains("./quant4j train lenet-mnist"), r.err());
    }

    /** Numbers picocli cannot read into the option's type (overflow, not a number) are usage errors too. */
    @ParameterizedTest(name = "{0} {1}")
    @org.junit.jupiter.params.provider.CsvSource({
            "--batches, 99999999999, bench", "--warmup, -2147483649, bench", "--batch-size, 1e3, bench",
            "--images, 2147483648, eval", "--calibration-images, 99999999999, quantize",
            "--seed, 99999999999999999999, quantize", "--calibration-draws, 4294967297, accuracy",
            "--bits, eight, ranges"})
    void unreadableNumbersAreUsageErrors(String option, String value, String command) {
        String[] args = switch (command) {
            case "bench", "eval" -> new String[] {command, "m.zip", "q.q4j", option, value};
            case "accuracy" -> new String[] {command, option, value};
            default -> new String[] {command, "m.zip", option, value};
        };
        MainTest.Run r = MainTest.run(args);
        assertEquals(Main.USAGE, r.code(), r.err());
        assertOneLine(r, "Invalid value for option '" + option + "': '" + value + "' is not a");
    }

    @Test
    void benchRefusesMeanTimesThatAreNotAboveZero() {
        IllegalStateException fp32 = assertThrows(IllegalStateException.class,
                () -> BenchCommand.speed(2, 4, 0, 1_000_000));
        assertTrue(fp32.getMessage().startsWith("the fp32 network's mean time per batch (ms) came out 0.0, which is "
                + "not a result"), fp32.getMessage());
        IllegalStateException quantized = assertThrows(IllegalStateException.class,
                () -> BenchCommand.speed(2, 4, 1_000_000, 0));
        assertTrue(quantized.getMessage().startsWith("the quantized model's mean time per batch (ms) came out 0.0"),
                quantized.getMessage());
        assertTrue(quantized.getMessage().endsWith("time more --batches or a larger --batch-size"));

        ReportData.Speed s = BenchCommand.speed(2, 4, 3_000_000, 1_000_000);
        assertEquals(1.5, s.fp32MsPerBatch(), 1e-12);
        assertEquals(0.5, s.quantizedMsPerBatch(), 1e-12);
        assertEquals(3.0, s.speedup(), 1e-12);
    }

    @Test
    void sqnrResultsAreNumbersOrExact() {
        assertEquals("exact", ResultChecks.sqnrText(ResultChecks.sqnr("s", Double.POSITIVE_INFINITY)));
        assertEquals("12.35 dB", ResultChecks.sqnrText(ResultChecks.sqnr("s", 12.345)));
        assertTrue(assertThrows(IllegalStateException.class, () -> ResultChecks.sqnr("the output SQNR", Double.NaN))
                .getMessage().startsWith("the output SQNR came out NaN dB"));
        assertTrue(assertThrows(IllegalStateException.class,
                () -> ResultChecks.sqnr("the output SQNR", Double.NEGATIVE_INFINITY)).getMessage()
                .contains("the reference is all zeros"));
        assertThrows(IllegalStateException.class, () -> ResultChecks.finite("the accuracy", Double.NaN));
        assertEquals(0.25, ResultChecks.finite("the accuracy", 0.25));
    }

    @Test
    void benchBatchSizeBoundFollowsTheModelsInput() {
        // 40,000 values per example: at most 2^31-1 / 40,000 = 53,687 examples per batch
        assertEquals(53_687, OptionBounds.maxBenchBatchSize(40_000));
        assertEquals(OptionBounds.MAX_BENCH_BATCH_SIZE, OptionBounds.maxBenchBatchSize(784));
    }

    private static Arguments refused(String expected, String... args) {
        return Arguments.of(expected, args);
    }

    private static Arguments accepted(String... args) {
        return Arguments.of((Object) args);
    }

    private static String[] resolve(String... args) {
        return Arrays.stream(args).map(OptionBoundsTest::resolve).toArray(String[]::new);
    }

    private static String resolve(String arg) {
        return arg.replace("@file", file.toString()).replace("@dir", dir.toString());
    }

    static void assertOneLine(MainTest.Run r, String expected) {
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "one line expected:\n" + err);
        assertTrue(err.contains(expected), err);
    }
}
