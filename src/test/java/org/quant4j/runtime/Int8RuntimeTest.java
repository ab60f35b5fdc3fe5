package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.reference.FashionCnn;

/**
 * The int8 runtime against the fake-quant graph on the 10,000 Fashion-MNIST test images, with the demo's CNN
 * (conv-BN-ReLU-pool twice, dense, dropout, softmax) trained briefly here.
 */
@Tag("slow")
class Int8RuntimeTest {

    private static MultiLayerNetwork net;
    private static QuantizedModel quantized;
    private static Datasets data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainAndQuantize() {
        data = Datasets.fromEnvironment();
        net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        DataSetIterator train = data.iterator(Dataset.FASHION_MNIST, Split.TRAIN, Subset.first(6400), 64);
        net.fit(train);
        // 7-bit weights where the CPU lacks VNNI, so that the int8 kernels cannot saturate.
        int weightBits = Dnnl.exactInt8Products() ? 8 : 7;
        quantized = Quantizer.quantize(net, data.iterator(Dataset.FASHION_MNIST, Split.TRAIN, Subset.random(512, 3L), 64),
                QuantizationOptions.builder().weightBits(weightBits).build());
    }

    private static double[] compare(QuantizedModel model) {
        DataSetIterator test = data.iterator(Dataset.FASHION_MNIST, Split.TEST, 1000);
        long agree = 0;
        long total = 0;
        double maxDiff = 0;
        while (test.hasNext()) {
            DataSet batch = test.next();
            INDArray int8 = model.outputs(Execution.INT8, batch.getFeatures())[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, batch.getFeatures())[0];
            agree += int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            total += batch.numExamples();
            maxDiff = Math.max(maxDiff, int8.sub(fake).amaxNumber().doubleValue());
        }
        return new double[] {agree / (double) total, maxDiff, total};
    }

    @Test
    void int8AgreesWithTheFakeQuantGraphOnTheTestSet() {
        assertEquals(Execution.INT8, quantized.execution(), "int8 unavailable: " + quantized.int8Unavailable());
        double[] r = compare(quantized);
        System.out.printf("int8 vs fake-quant on %d test images: top-1 agreement %.4f%%, max |p diff| %.2e%n",
                (long) r[2], 100 * r[0], r[1]);
        assertEquals(10_000, (long) r[2]);
        assertTrue(r[0] >= 0.999, "top-1 agreement " + r[0]);
        assertTrue(r[1] < 0.05, "largest probability difference " + r[1]);
    }

    @Test
    void eightThreadsGetTheSingleThreadedResults() throws Exception {
        INDArray x = data.load(Dataset.FASHION_MNIST, Split.TEST, Subset.first(16)).features();
        INDArray expected = quantized.outputs(Execution.INT8, x)[0];
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            java.util.List<java.util.concurrent.Future<Integer>> futures = new java.util.ArrayList<>();
            for (int t = 0; t < 8; t++) {
                futures.add(pool.submit(() -> {
                    int mismatches = 0;
                    for (int i = 0; i < 100; i++) {
                        mismatches += quantized.outputs(Execution.INT8, x)[0].equals(expected) ? 0 : 1;
                    }
                    return mismatches;
                }));
            }
            for (java.util.concurrent.Future<Integer> f : futures) {
                assertEquals(0, (int) f.get(), "calls whose result differs from the single-threaded one");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void loadedModelRunsInt8Too() throws Exception {
        File file = tmp.resolve("cnn.q4j").toFile();
        quantized.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        INDArray x = data.load(Dataset.FASHION_MNIST, Split.TEST, Subset.first(50)).features();
        assertEquals(quantized.outputs(Execution.INT8, x)[0], loaded.outputs(Execution.INT8, x)[0]);
    }
}
