package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same model, data and options give byte-identical model files (QuantizedModel's determinism promise). */
class DeterminismTest {

    @TempDir
    Path tmp;

    private byte[] quantizeAndSave(MultiLayerNetwork net, QuantizationOptions options, String name) throws IOException {
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 3, 5), options);
        assertTrue(q.report().calibrationMillis() >= 0 && q.report().solveMillis() >= 0,
                "the in-memory report keeps its timings");
        Path file = tmp.resolve(name);
        q.save(file.toFile());
        return Files.readAllBytes(file);
    }

    @Test
    void quantizingTwiceGivesByteIdenticalFiles() throws IOException {
        MultiLayerNetwork net = TestNetworks.cnn();
        for (QuantizationOptions options : List.of(QuantizationOptions.defaults(),
                QuantizationOptions.builder().rangeMethod("patent").keepFp32("out", "conv1").build())) {
            byte[] first = quantizeAndSave(net, options, "a.q4j");
            byte[] second = quantizeAndSave(net, options, "b.q4j");
            assertArrayEquals(first, second, "two runs with " + options + " gave different files");
        }
    }

    @Test
    void entriesHaveAFixedTimeAndTheFileHoldsNoTimingsAndSortedSets() throws IOException {
        MultiLayerNetwork net = TestNetworks.cnn();
        byte[] bytes = quantizeAndSave(net, QuantizationOptions.builder().keepFp32("out", "conv1", "fc1").build(),
                "m.q4j");
        List<String> names = new ArrayList<>();
        String json = null;
        try (ZipInputStream zip = new ZipInputStream(new java.io.ByteArrayInputStream(bytes))) {
            ZipEntry e;
            while ((e = zip.getNextEntry()) != null) {
                names.add(e.getName());
                assertEquals(LocalDateTime.of(2000, 1, 1, 0, 0), e.getTimeLocal(), e.getName());
                if (e.getName().equals("quant4j.json")) {
                    json = new String(zip.readAllBytes(), StandardCharsets.UTF_8);
                }
            }
        }
        assertEquals(List.of("quant4j.json", "graph.fb"), names);
        assertTrue(json.contains("\"calibrationMillis\" : -1") && json.contains("\"solveMillis\" : -1"), json);
        int conv1 = json.indexOf("\"conv1\"", json.indexOf("\"keepFp32\""));
        int fc1 = json.indexOf("\"fc1\"", json.indexOf("\"keepFp32\""));
        int out = json.indexOf("\"out\"", json.indexOf("\"keepFp32\""));
        assertTrue(conv1 > 0 && conv1 < fc1 && fc1 < out, "keepFp32 is stored sorted");
        QuantizedModel loaded = QuantizedModel.load(tmp.resolve("m.q4j").toFile());
        assertEquals(-1, loaded.report().calibrationMillis());
        assertTrue(loaded.report().toString().contains("timings not stored"), loaded.report().toString());
    }

    @Test
    void aLoadedModelSavesToTheSameBytes() throws IOException {
        byte[] original = quantizeAndSave(TestNetworks.cnn(), QuantizationOptions.defaults(), "orig.q4j");
        QuantizedModel loaded = QuantizedModel.load(tmp.resolve("orig.q4j").toFile());
        Path again = tmp.resolve("again.q4j");
        loaded.save(again.toFile());
        assertArrayEquals(original, Files.readAllBytes(again));
    }
}
