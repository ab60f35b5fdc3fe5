package org.quant4j.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.ObserverOpsReferenceTest;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.TensorObserver;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorSpec;

/**
 * Observer ops against the Java observers on arrays chosen to exercise the histogram's layouts: channels of
 * different signs and scales, an all-zero channel, ranges that grow from batch to batch by factors up to 2^20 (the
 * window coarsened and moved), values on bin edges, and a batch with NaN and infinity (refused by the ops, observed
 * in Java).
 */
class OpObserversTest {

    @Test
    void summariesMergeLikeTheJavaObservers() {
        ModelGraph graph = graph(4);
        Map<String, TensorObserver> java = Map.of("y", new TensorObserver("y", 1));
        Map<String, TensorObserver> ops = Map.of("y", new TensorObserver("y", 1));
        Map<String, TensorObserver> whole = Map.of("y", new TensorObserver("y", -1));
        Map<String, TensorObserver> wholeJava = Map.of("y", new TensorObserver("y", -1));
        Random random = new Random(7);
        INDArray first = batch(random, 1.0);
        observeJava(graph, first, java);
        observeJava(graph, first, ops);
        observeJava(graph, first, whole);
        observeJava(graph, first, wholeJava);
        OpObservers observers = OpObservers.of(graph, ops);
        OpObservers wholeObservers = OpObservers.of(graph, whole);
        double[] scales = {0.5, 3.0, 1024.0, 1e-3, 1.0e6, 7.0};
        for (double scale : scales) {
            INDArray x = batch(random, scale);
            observeJava(graph, x, java);
            observeJava(graph, x, wholeJava);
            assertTrue(observers.observe(Map.of("x", x), ops), "summaries refused at scale " + scale);
            assertTrue(wholeObservers.observe(Map.of("x", x), whole), "summaries refused at scale " + scale);
        }
        compare(java, ops);
        compare(wholeJava, whole);
    }

    @Test
    void nonFiniteBatchIsRefusedBeforeAnythingIsMerged() {
        ModelGraph graph = graph(4);
        Map<String, TensorObserver> ops = Map.of("y", new TensorObserver("y", 1));
        Random random = new Random(8);
        observeJava(graph, batch(random, 1.0), ops);
        OpObservers observers = OpObservers.of(graph, ops);
        ChannelStatistics before = ops.get("y").channels()[2].copy();
        INDArray x = batch(random, 2.0);
        x.putScalar(new long[] {0, 2, 1, 1}, Float.NaN);
        x.putScalar(new long[] {1, 3, 0, 1}, Float.POSITIVE_INFINITY);
        assertFalse(observers.observe(Map.of("x", x), ops));
        ChannelStatistics after = ops.get("y").channels()[2];
        assertEquals(before.count(), after.count());
        assertEquals(before.histogram(), after.histogram());
    }

    private static void compare(Map<String, TensorObserver> java, Map<String, TensorObserver> ops) {
        ChannelStatistics[] a = java.get("y").channels();
        ChannelStatistics[] b = ops.get("y").channels();
        assertEquals(a.length, b.length);
        for (int c = 0; c < a.length; c++) {
            ObserverOpsReferenceTest.assertSame("channel " + c, a[c], b[c]);
        }
    }

    /** [3, 4, 5, 5]: channel 0 two-sided, 1 non-negative with zeros and bin edges, 2 negative, 3 all zeros. */
    private static INDArray batch(Random random, double scale) {
        INDArray x = Nd4j.create(DataType.FLOAT, 3, 4, 5, 5);
        for (int n = 0; n < 3; n++) {
            for (int h = 0; h < 5; h++) {
                for (int w = 0; w < 5; w++) {
                    double g = random.nextGaussian() * scale;
                    x.putScalar(new long[] {n, 0, h, w}, g + 0.25 * scale);
                    x.putScalar(new long[] {n, 1, h, w}, (h + w) % 3 == 0 ? 0.0 : Math.scalb(1.0, h - w) * scale);
                    x.putScalar(new long[] {n, 2, h, w}, -Math.abs(g) - scale);
                    x.putScalar(new long[] {n, 3, h, w}, 0.0);
                }
            }
        }
        return x;
    }

    private static void observeJava(ModelGraph graph, INDArray x, Map<String, TensorObserver> observers) {
        INDArray y = graph.graph().output(Map.of("x", x), "y").get("y");
        observers.get("y").observe(y);
    }

    private static ModelGraph graph(int channels) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, channels, 5, 5);
        sd.identity("y", x.mul(1.0));
        return new ModelGraph(sd, List.of(new TensorSpec("x", new long[] {-1, channels, 5, 5})),
                List.of("y"), List.of(), Map.of());
    }
}
