package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.reference.FashionCnn;

/**
 * One QuantizedModel serving 8 threads x 1,000 calls gives, bit for bit, the single-threaded results, in integer
 * and in fake-quant execution, and the process's resident memory does not grow beyond {@link #RSS_BOUND_MB} (integer)
 * or {@link #FAKE_QUANT_RSS_BOUND_MB} (fake-quant) after a warm-up. The threads are one fixed pool, as a server's.
 */
class ConcurrencyTest {

    static final int THREADS = 8;
    static final int CALLS = 1_000;
    /** Bound on RSS growth over 8 x 1,000 integer calls after the warm-up (measured: -36 to +35 MB). */
    static final long RSS_BOUND_MB = 200;
    /**
     * Bound on RSS growth over 8 x 1,000 fake-quant calls after the warm-up. {@code GraphExecution} frees every
     * intermediate native array as soon as its last reader has run and reuses a bounded pool of sessions per graph
     * (before, SameDiff's per-thread sessions and arrays freed only by the garbage collector raised RSS by about
     * 3 GB over the first 8,000 calls and by up to 0.6 GB per further 8,000).
     */
    static final long FAKE_QUANT_RSS_BOUND_MB = 300;

    static QuantizedModel model;
    /** The serving threads, the same for every call: a server's fixed pool. */
    static ExecutorService pool;
    static final List<INDArray> inputs = new ArrayList<>();

    @org.junit.jupiter.api.AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    @BeforeAll
    static void quantize() {
        pool = Executors.newFixedThreadPool(THREADS);
        MultiLayerNetwork net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        model = Quantizer.quantize(net, TestNetworks.randomIterator(32, new long[] {32, 1, 28, 28}, 10, 2, 11));
        Nd4j.getRandom().setSeed(5);
        for (int i = 0; i < THREADS; i++) {
            inputs.add(Nd4j.rand(DataType.FLOAT, 1 + i % 4, 1, 28, 28));
        }
    }

    @Test
    void int8ServesEightThreadsWithSingleThreadedResults() throws Exception {
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        run(Execution.INT8);
    }

    @Test
    void fakeQuantServesEightThreadsWithSingleThreadedResults() throws Exception {
        run(Execution.FAKE_QUANT);
    }

    private static void run(Execution execution) throws Exception {
        List<float[]> expected = new ArrayList<>();
        for (INDArray x : inputs) {
            expected.add(flat(model.outputs(execution, x)[0]));
        }
        // Warm-up: every thread's stream, kernels and caches exist, and the native allocator reaches its working size.
        calls(execution, expected, CALLS);
        long before = rssKb();
        long start = System.nanoTime();
        int mismatches = calls(execution, expected, CALLS);
        double seconds = (System.nanoTime() - start) / 1e9;
        long after = rssKb();
        System.out.printf("%s: %d threads x %d calls in %.1f s; RSS %d MB before, %d MB after (%+d MB)%n", execution,
                THREADS, CALLS, seconds, before / 1024, after / 1024, (after - before) / 1024);
        assertEquals(0, mismatches, execution + ": calls whose result differs from the single-threaded one");
        long bound = execution == Execution.INT8 ? RSS_BOUND_MB : FAKE_QUANT_RSS_BOUND_MB;
        assertTrue(after - before < bound * 1024, execution + ": RSS grew from " + before / 1024 + " MB to "
                + after / 1024 + " MB over " + THREADS * CALLS + " calls (bound " + bound + " MB)");
    }

    /** Runs {@code perThread} calls on each of the threads; thread t cycles through the inputs from input t. */
    private static int calls(Execution execution, List<float[]> expected, int perThread) throws Exception {
        ExecutorService pool = ConcurrencyTest.pool;
        {
            List<Future<Integer>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int first = t;
                futures.add(pool.submit(() -> {
                    int mismatches = 0;
                    for (int i = 0; i < perThread; i++) {
                        int k = (first + i) % inputs.size();
                        float[] actual = flat(model.outputs(execution, inputs.get(k))[0]);
                        mismatches += Arrays.equals(expected.get(k), actual) ? 0 : 1;
                    }
                    return mismatches;
                }));
            }
            int mismatches = 0;
            for (Future<Integer> f : futures) {
                mismatches += f.get();
            }
            return mismatches;
        }
    }

    private static float[] flat(INDArray a) {
        return a.dup('c').reshape(a.length()).toFloatVector();
    }

    /** Resident set size of this process (VmRSS of /proc/self/status) in kB, after a GC. */
    static long rssKb() throws IOException {
        System.gc();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS line in /proc/self/status");
    }
}
