package org.quant4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** {@code bench}: latency percentiles and throughput per model, batch size and thread count, in a table and JSON. */
class BenchCommandTest {

    @TempDir
    static Path dir;
    static Path modelFile;
    static Path q4j;

    @BeforeAll
    static void quantizeOnRandomNpyData() throws IOException {
        modelFile = TinyNetworks.save(TinyNetworks.mlp(), dir.resolve("mlp.zip"));
        Path calibration = dir.resolve("calibration.npy");
        Nd4j.getRandom().setSeed(3);
        Nd4j.writeAsNumpy(Nd4j.rand(DataType.FLOAT, 16, 784), calibration.toFile());
        q4j = dir.resolve("mlp.q4j");
        MainTest.Run r = MainTest.run("quantize", modelFile.toString(), "--calibration", calibration.toString(),
                "-o", q4j.toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void percentilesAreNearestRanks() {
        long[] nanos = new long[100];
        for (int i = 0; i < nanos.length; i++) {
            nanos[i] = (100 - i) * 1_000_000L; // 100 ms .. 1 ms, unsorted
        }
        LatencyStats s = LatencyStats.of(nanos, 4);
        assertEquals(50.0, s.medianMs());
        assertEquals(90.0, s.p90Ms());
        assertEquals(99.0, s.p99Ms());
        assertEquals(1.0, s.minMs());
        assertEquals(100.0, s.maxMs());
        assertEquals(50.5, s.meanMs(), 1e-9);
        assertEquals(4 / 0.0505, s.imagesPerSecond(), 1e-6); // 100 batches of 4 in 5.05 s
    }

    @Test
    void everyBatchSizeAndThreadCountIsMeasuredAndWrittenAsJson() throws IOException {
        Path json = dir.resolve("out/bench.json");
        MainTest.Run r = MainTest.run("bench", modelFile.toString(), q4j.toString(), "--batch-sizes", "1,4",
                "--threads", "1,2", "--batches", "5", "--warmup", "2", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("p99 ms") && r.out().contains("images/s"), r.out());
        assertTrue(r.out().contains("after 2 warm-up batches, 5 timed batches each"), r.out());
        assertTrue(r.out().startsWith("machine: "), r.out());

        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertEquals(2, root.get("warmupBatches").asInt());
        assertEquals(5, root.get("timedBatches").asInt());
        assertFalse(root.get("machine").get("cpu").asText().isBlank());
        assertFalse(root.get("machine").get("onednnIsa").asText().isBlank());
        JsonNode results = root.get("results");
        assertEquals(8, results.size(), results.toString());
        Set<String> combinations = new HashSet<>();
        for (JsonNode row : results) {
            combinations.add(row.get("model").asText() + "/" + row.get("batchSize").asInt() + "/"
                    + row.get("threads").asInt());
            double min = row.get("minMs").asDouble();
            double median = row.get("medianMs").asDouble();
            double p90 = row.get("p90Ms").asDouble();
            double p99 = row.get("p99Ms").asDouble();
            double max = row.get("maxMs").asDouble();
            assertTrue(0 < min && min <= median && median <= p90 && p90 <= p99 && p99 <= max, row.toString());
            assertTrue(row.get("imagesPerSecond").asDouble() > 0, row.toString());
        }
        assertEquals(Set.of("fp32/1/1", "quantized/1/1", "fp32/4/1", "quantized/4/1", "fp32/1/2", "quantized/1/2",
                "fp32/4/2", "quantized/4/2"), combinations);
        assertTrue(Files.list(json.getParent()).allMatch(p -> p.equals(json)), "no temporary file left beside it");
    }

    @Test
    void outOfBoundsBatchSizesAndThreadsAreUsageErrors() {
        MainTest.Run sizes = MainTest.run("bench", modelFile.toString(), q4j.toString(), "--batch-sizes", "1,0");
        assertEquals(Main.USAGE, sizes.code());
        assertTrue(sizes.err().contains("--batch-sizes must be in 1..65536, got 0"), sizes.err());
        MainTest.Run threads = MainTest.run("bench", modelFile.toString(), q4j.toString(), "--threads", "0");
        assertEquals(Main.USAGE, threads.code());
        assertTrue(threads.err().contains("--threads must be in 1..1024, got 0"), threads.err());
    }
}
