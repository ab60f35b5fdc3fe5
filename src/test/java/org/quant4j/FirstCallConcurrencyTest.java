package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel.Execution;

/**
 * A model just loaded serves several threads from its very first call, as a Spark executor's tasks or a server's
 * pool do: every thread gets the single-threaded result. The network has fp32 islands (a BatchNorm after a ReLU, a
 * local response normalization) run through SameDiff, whose ops resolve their outputs lazily on first use.
 */
class FirstCallConcurrencyTest {

    static final int THREADS = 8;
    static final int LOADS = 50;

    @Test
    void aFreshlyLoadedModelServesConcurrentFirstCalls() throws Exception {
        QuantizedModel model = Quantizer.quantize(TestNetworks.islandCnn(),
                TestNetworks.randomIterator(16, new long[] {16, 1, 28, 28}, 10, 2, 3));
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        model.save(bytes);
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 1, 28, 28);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            for (Execution execution : List.of(Execution.INT8, Execution.FAKE_QUANT)) {
                float[] expected = flat(model.outputs(execution, x)[0]);
                for (int load = 0; load < LOADS; load++) {
                    QuantizedModel fresh = QuantizedModel.load(new ByteArrayInputStream(bytes.toByteArray()));
                    CyclicBarrier start = new CyclicBarrier(THREADS);
                    List<Future<float[]>> calls = new ArrayList<>();
                    for (int t = 0; t < THREADS; t++) {
                        calls.add(pool.submit(() -> {
                            start.await();
                            return flat(fresh.outputs(execution, x)[0]);
                        }));
                    }
                    for (Future<float[]> call : calls) {
                        assertArrayEquals(expected, call.get(), execution + ", load " + load);
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static float[] flat(INDArray a) {
        return a.dup('c').reshape(a.length()).toFloatVector();
    }
}
