package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.reference.FashionCnn;

/**
 * One QuantizedModel serving 8 threads x 1,000 calls gives, bit for bit, the single-threaded results, in integer
 * and in fake-quant execution. The threads are one fixed pool, as a server's. That memory stays steady under the
 * same load is {@code org.quant4j.memory.ServingMemoryTest}'s, in a JVM of its own.
 */
@Tag("slow")
class ConcurrencyTest {

    static final int THREADS = 8;
    static final int CALLS = 1_000;

    static QuantizedModel model;
    /** The serving threads, the same for every call: a server's fixed pool. */
    static ExecutorService pool;
    static final List<INDArray> inputs = new ArrayList<>();

    @AfterAll
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
        int mismatches = calls(execution, expected, CALLS);
        assertEquals(0, mismatches, execution + ": calls whose result differs from the single-threaded one");
    }

    /** Runs {@code perThread} calls on each of the threads; thread t cycles through the inputs from input t. */
    private static int calls(Execution execution, List<float[]> expected, int perThread) throws Exception {
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

    private static float[] flat(INDArray a) {
        return a.dup('c').reshape(a.length()).toFloatVector();
    }
}
