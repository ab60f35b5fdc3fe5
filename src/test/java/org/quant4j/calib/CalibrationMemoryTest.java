package org.quant4j.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;
import org.quant4j.memory.MemoryTrend;
import org.quant4j.memory.ProcessMemory;
import org.quant4j.reference.FashionCnn;

/**
 * Observer memory does not depend on the number of calibration images: all 60,000 Fashion-MNIST training images
 * through the demo CNN (random weights), every quantized activation observed per channel, in batches of 1,000, ten
 * rounds of 6,000 images. What the observers keep is the same after 6,000 and 60,000 images; and the process's
 * memory does not grow with the images ({@link MemoryTrend}, after two warm-up rounds): per image, the resident set
 * by less than 1/{@value #ACTIVATION_SHARE} of the activations one image gives (so keeping any layer's values of
 * each batch fails it), the heap's live set by less than {@value #HEAP_BYTES_PER_IMAGE} bytes (less than the values
 * of 4 channel positions per image).
 */
@Tag("memory")
class CalibrationMemoryTest {

    static final int BATCH = 1_000;
    static final int BATCHES_PER_ROUND = 6;
    static final int FIRST_STEADY_ROUND = 2;
    static final int ACTIVATION_SHARE = 128;
    static final long HEAP_BYTES_PER_IMAGE = 16;

    @Test
    void observerMemoryIndependentOfImageCount() throws Exception {
        ProcessMemory.assumeMemoryTestJvm();
        LabeledImages train = Datasets.fromEnvironment().load(Dataset.FASHION_MNIST, Split.TRAIN);
        assertEquals(60_000, train.size());
        Nd4j.getRandom().setSeed(7);
        MultiLayerNetwork net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        ModelGraph graph = Dl4jConverter.convert(net);
        Map<String, TensorObserver> observers = new LinkedHashMap<>();
        for (QuantizableOp op : QuantizableOps.find(graph.graph())) {
            observers.putIfAbsent(op.activation(), new TensorObserver(op.activation(), op.activationAxis()));
        }
        String input = graph.inputs().get(0).name();
        List<String> computed = observers.keySet().stream().filter(t -> !t.equals(input)).toList();
        long[] retained = new long[2];
        long[] values = new long[1];
        int[] next = new int[1];
        int rounds = train.size() / (BATCH * BATCHES_PER_ROUND);
        MemoryTrend trend = MemoryTrend.measure("calibration observers", rounds, (long) BATCH * BATCHES_PER_ROUND,
                "image", () -> {
                    for (int b = 0; b < BATCHES_PER_ROUND; b++) {
                        int from = next[0];
                        INDArray batch = train.features().get(NDArrayIndex.interval(from, from + BATCH),
                                NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
                        Map<String, INDArray> out = new LinkedHashMap<>(GraphExecution.output(graph.graph(),
                                Map.of(input, batch), computed));
                        out.put(input, batch);
                        for (TensorObserver o : observers.values()) {
                            INDArray v = out.get(o.tensor());
                            o.observe(v);
                            values[0] += v.length();
                        }
                        next[0] += BATCH;
                    }
                    if (next[0] == BATCH * BATCHES_PER_ROUND) {
                        retained[0] = retained(observers);
                    }
                });
        retained[1] = retained(observers);
        double activations = activationBytesPerImage(net, train);
        double resident = trend.residentPerUnit(FIRST_STEADY_ROUND);
        double heap = trend.heapPerUnit(FIRST_STEADY_ROUND);
        System.out.printf("observers: %d tensors, %d channels, %d values seen; retained %d bytes after 6,000 and %d"
                + " after 60,000 images%n%s%n  one image's activations: %.0f bytes; bounds per image: resident %.0f"
                + " bytes, heap %d bytes%n", observers.size(),
                observers.values().stream().mapToInt(o -> o.channels().length).sum(), values[0], retained[0],
                retained[1], trend.table(FIRST_STEADY_ROUND), activations, activations / ACTIVATION_SHARE,
                HEAP_BYTES_PER_IMAGE);
        assertEquals(60_000, next[0], "every image went through");
        assertEquals(retained[0], retained[1], "observer memory after 6,000 and 60,000 images");
        assertTrue(values[0] > 1_000_000_000L / 8, "a real amount of data went through: " + values[0]);
        for (TensorObserver o : observers.values()) {
            for (ChannelStatistics c : o.channels()) {
                assertEquals(60_000L * (c.count() / 60_000), c.count(), "every image counted in " + o.tensor());
                assertTrue(c.count() >= 60_000, o.tensor());
            }
        }
        assertTrue(resident < activations / ACTIVATION_SHARE, "the resident set grows by " + Math.round(resident)
                + " bytes per image\n" + trend.table(FIRST_STEADY_ROUND));
        assertTrue(heap < HEAP_BYTES_PER_IMAGE, "the heap grows by " + Math.round(heap) + " bytes per image\n"
                + trend.table(FIRST_STEADY_ROUND));
    }

    private static long retained(Map<String, TensorObserver> observers) {
        return observers.values().stream().mapToLong(TensorObserver::retainedBytes).sum();
    }

    /** The bytes of every activation the network computes for one image (the mean over a batch of 100). */
    private static double activationBytesPerImage(MultiLayerNetwork net, LabeledImages train) {
        INDArray x = train.features().get(NDArrayIndex.interval(0, 100), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.all());
        long bytes = 0;
        for (INDArray a : net.feedForward(x, false)) {
            bytes += a.length() * a.dataType().width();
        }
        return bytes / 100.0;
    }
}
