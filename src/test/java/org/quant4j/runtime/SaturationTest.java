package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Why the runtime uses 7-bit weights without VNNI: on AVX2 (oneDNN limited to it, in a JVM of its own) full-range
 * weights give wrong sums, silently, while 7-bit weights give exact ones.
 */
class SaturationTest {

    private static String probe(String isa, int limit, String... kind) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new java.util.ArrayList<>(List.of(java.toString(), "-cp",
                System.getProperty("java.class.path"), SaturationProbe.class.getName(), isa, Integer.toString(limit)));
        command.addAll(List.of(kind));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        String[] lines = out.strip().split("\n");
        return lines[lines.length - 1];
    }

    @Test
    void avx2SaturatesFullRangeWeightsButNotSevenBitOnes() throws Exception {
        String full = probe("avx2", 127);
        String seven = probe("avx2", 63);
        assertTrue(full.endsWith("wrong"), "full-range weights on AVX2: " + full);
        assertTrue(seven.endsWith("exact"), "7-bit weights on AVX2: " + seven);
    }

    /**
     * Depthwise convolutions (oneDNN groups) on AVX2 sum exactly even with full-range weights (measured with oneDNN
     * 2.5: each output sums kH kW products of one channel, without pairing them in 16 bits); the runtime's probe
     * ({@code Dnnl.exactInt8Products}) runs a depthwise worst case too, so this stays checked.
     */
    @Test
    void avx2DepthwiseConvolutionsDoNotSaturate() throws Exception {
        String full = probe("avx2", 127, "depthwise");
        String seven = probe("avx2", 63, "depthwise");
        assertTrue(full.endsWith("exact"), "full-range depthwise weights on AVX2: " + full);
        assertTrue(seven.endsWith("exact"), "7-bit depthwise weights on AVX2: " + seven);
    }
}
