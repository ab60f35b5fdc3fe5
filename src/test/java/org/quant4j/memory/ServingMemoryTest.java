package org.quant4j.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
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
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.reference.FashionCnn;

/**
 * A QuantizedModel serving 8 threads holds a steady state, in integer and in fake-quant execution: after two
 * warm-up rounds, the process's memory does not grow with the number of calls ({@link MemoryTrend}: the median
 * round's growth per call). The bounds are the model's: per call, the resident set may grow by less than
 * 1/{@value #ACTIVATION_SHARE} of the activations that one call computes (about 5 KB for this CNN, whose smallest
 * feature map is 6 KB an image: leaking any of them on every call exceeds it; keeping a copy of every call's input,
 * 8 KB, measured 7 KB a call and failed), and the heap's live set by less than {@value #HEAP_BYTES_PER_CALL} bytes
 * (one small object). Measured without a leak: a few tens of bytes a call, and none on the heap. The results'
 * correctness under concurrency is {@code ConcurrencyTest}'s.
 */
@Tag("memory")
class ServingMemoryTest {

    static final int THREADS = 8;
    static final int ROUNDS = 7;
    /** The steady state is measured after this round: caches are built, code compiled, malloc's arenas at size. */
    static final int FIRST_STEADY_ROUND = 2;
    static final int ACTIVATION_SHARE = 128;
    static final long HEAP_BYTES_PER_CALL = 64;

    static MultiLayerNetwork net;
    static QuantizedModel model;
    static ExecutorService pool;
    static final List<INDArray> inputs = new ArrayList<>();

    @BeforeAll
    static void quantize() {
        ProcessMemory.assumeMemoryTestJvm();
        pool = Executors.newFixedThreadPool(THREADS);
        net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        model = Quantizer.quantize(net, TestNetworks.randomIterator(32, new long[] {32, 1, 28, 28}, 10, 2, 11));
        Nd4j.getRandom().setSeed(5);
        for (int i = 0; i < THREADS; i++) {
            inputs.add(Nd4j.rand(DataType.FLOAT, 1 + i % 4, 1, 28, 28));
        }
    }

    @AfterAll
    static void stop() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    @Test
    void int8ServingHoldsASteadyState() throws Exception {
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        steadyState(Execution.INT8, 500);
    }

    @Test
    void fakeQuantServingHoldsASteadyState() throws Exception {
        steadyState(Execution.FAKE_QUANT, 250);
    }

    private static void steadyState(Execution execution, int callsPerThread) throws Exception {
        double workingSet = activationBytesPerCall();
        MemoryTrend trend = MemoryTrend.measure(execution + " serving, " + THREADS + " threads", ROUNDS,
                (long) THREADS * callsPerThread, "call", () -> calls(execution, callsPerThread));
        double resident = trend.residentPerUnit(FIRST_STEADY_ROUND);
        double heap = trend.heapPerUnit(FIRST_STEADY_ROUND);
        double residentBound = workingSet / ACTIVATION_SHARE;
        System.out.printf("%s%n  one call's activations: %.0f bytes (mean over the inputs); bounds per call:"
                + " resident %.0f bytes, heap %d bytes%n", trend.table(FIRST_STEADY_ROUND), workingSet,
                residentBound, HEAP_BYTES_PER_CALL);
        assertTrue(resident < residentBound, execution + ": the resident set grows by " + Math.round(resident)
                + " bytes per call in the steady state, more than 1/" + ACTIVATION_SHARE
                + " of one call's activations (" + Math.round(workingSet) + " bytes)\n" + trend.table(FIRST_STEADY_ROUND));
        assertTrue(heap < HEAP_BYTES_PER_CALL, execution + ": the heap grows by " + Math.round(heap)
                + " bytes per call in the steady state\n" + trend.table(FIRST_STEADY_ROUND));
    }

    /** The bytes of every activation the fp32 network computes for one call, the mean over the inputs. */
    private static double activationBytesPerCall() {
        long bytes = 0;
        for (INDArray x : inputs) {
            for (INDArray a : net.feedForward(x, false)) {
                bytes += a.length() * a.dataType().width();
            }
        }
        return bytes / (double) inputs.size();
    }

    /** {@code perThread} calls on each thread of the pool; thread t cycles through the inputs from input t. */
    private static void calls(Execution execution, int perThread) throws Exception {
        List<Future<Long>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int first = t;
            futures.add(pool.submit(() -> {
                long elements = 0;
                for (int i = 0; i < perThread; i++) {
                    elements += model.outputs(execution, inputs.get((first + i) % inputs.size()))[0].length();
                }
                return elements;
            }));
        }
        for (Future<Long> f : futures) {
            assertTrue(f.get() >= perThread * 10L, "every call gave its 10 class probabilities per image");
        }
    }
}
