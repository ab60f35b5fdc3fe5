package org.quant4j.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.reference.FashionCnn;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;

/**
 * Observer memory does not depend on the number of calibration images: all 60,000 Fashion-MNIST training images
 * through the demo CNN (random weights), every quantized activation observed per channel, batches of 1,000.
 */
class CalibrationMemoryTest {

    @Test
    void observerMemoryIndependentOfImageCount() {
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
        long at6000 = -1;
        long heapAt6000 = -1;
        long values = 0;
        for (int from = 0; from < train.size(); from += 1000) {
            INDArray batch = train.features().get(NDArrayIndex.interval(from, from + 1000), NDArrayIndex.all(),
                    NDArrayIndex.all(), NDArrayIndex.all());
            Map<String, INDArray> out = new LinkedHashMap<>(GraphExecution.output(graph.graph(), Map.of(input, batch),
                    computed));
            out.put(input, batch);
            for (TensorObserver o : observers.values()) {
                INDArray v = out.get(o.tensor());
                o.observe(v);
                values += v.length();
            }
            if (from + 1000 == 6_000) {
                at6000 = retained(observers);
                heapAt6000 = usedHeapAfterGc();
            }
        }
        long at60000 = retained(observers);
        long heapAt60000 = usedHeapAfterGc();
        System.out.printf("observers: %d tensors, %d channels, %d values seen; retained %d bytes after 6,000 and %d"
                + " after 60,000 images; used heap after GC %.1f MB and %.1f MB%n", observers.size(),
                observers.values().stream().mapToInt(o -> o.channels().length).sum(), values, at6000, at60000,
                heapAt6000 / 1e6, heapAt60000 / 1e6);
        assertEquals(at6000, at60000, "observer memory after 6,000 and 60,000 images");
        assertTrue(values > 1_000_000_000L / 8, "a real amount of data went through: " + values);
        for (TensorObserver o : observers.values()) {
            for (ChannelStatistics c : o.channels()) {
                assertEquals(60_000L * (c.count() / 60_000), c.count(), "every image counted in " + o.tensor());
                assertTrue(c.count() >= 60_000, o.tensor());
            }
        }
        // The 188 MB of pixels live off-heap (ND4J); the Java heap must not grow with the number of images.
        assertTrue(heapAt60000 - heapAt6000 < 64L << 20,
                "used heap grew by " + (heapAt60000 - heapAt6000) + " bytes from 6,000 to 60,000 images");
    }

    private static long retained(Map<String, TensorObserver> observers) {
        return observers.values().stream().mapToLong(TensorObserver::retainedBytes).sum();
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
