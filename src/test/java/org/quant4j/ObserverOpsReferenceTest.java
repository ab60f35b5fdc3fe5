package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.reference.ReferenceNetwork;

/**
 * The observer ops in the graph give the Java observers' statistics on every reference network (initialized with
 * their seed, not trained): over four calibration batches, every point and channel has the same count, zeros,
 * extremes and histogram (layout and every count), and moments equal to floating-point rounding.
 */
@Tag("slow")
public class ObserverOpsReferenceTest {

    private static Datasets data;

    @BeforeAll
    static void data() {
        data = Datasets.fromEnvironment();
    }

    @ParameterizedTest
    @EnumSource(ReferenceNetwork.class)
    void sameStatisticsAsTheJavaObservers(ReferenceNetwork ref) {
        Calibration java = calibrate(ref, false);
        Calibration ops = calibrate(ref, true);
        CalibrationSketch a = java.sketch();
        CalibrationSketch b = ops.sketch();
        assertEquals(a.tensors(), b.tensors(), ref.id() + ": points");
        assertEquals(4, b.batches());
        assertEquals(0, java.observed().observerOpBatches());
        assertEquals(3, ops.observed().observerOpBatches(), ref.id() + ": batches observed by the ops");
        int channels = 0;
        for (String tensor : a.tensors()) {
            ChannelStatistics[] x = a.statistics(tensor);
            ChannelStatistics[] y = b.statistics(tensor);
            assertEquals(x.length, y.length, ref.id() + " " + tensor + ": channels");
            for (int c = 0; c < x.length; c++) {
                assertSame(ref.id() + " " + tensor + " channel " + c, x[c], y[c]);
                channels++;
            }
        }
        System.out.printf("%s: %d points, %d channels: observer ops equal to the Java observers%n", ref.id(),
                a.tensors().size(), channels);
    }

    public static void assertSame(String where, ChannelStatistics x, ChannelStatistics y) {
        assertEquals(x.count(), y.count(), where + ": count");
        assertEquals(x.zeros(), y.zeros(), where + ": zeros");
        assertEquals(x.min(), y.min(), where + ": min");
        assertEquals(x.max(), y.max(), where + ": max");
        assertEquals(x.histogram(), y.histogram(), where + ": histogram");
        double scale = Math.max(Math.abs(x.mean()), x.std()) + 1e-30;
        assertEquals(x.mean(), y.mean(), 1e-9 * scale, where + ": mean");
        for (int p = 2; p <= ChannelStatistics.MAX_ORDER; p++) {
            double m = x.centralMoment(p);
            double tolerance = 1e-8 * Math.pow(Math.max(x.std(), Math.abs(x.mean())), p) + 1e-300;
            assertEquals(m, y.centralMoment(p), tolerance, where + ": central moment " + p);
        }
        assertTrue(x.count() > 0, where + ": observed nothing");
    }

    private static Calibration calibrate(ReferenceNetwork ref, boolean observerOps) {
        QuantizationOptions options = QuantizationOptions.builder().calibrationBatches(4).observerOps(observerOps)
                .build();
        DataSetIterator calibration = data.iterator(ref.dataset(), Split.TRAIN, Subset.random(128, 5L), 32);
        return ref.untrained() instanceof ComputationGraph g ? Quantizer.calibrate(g, calibration, options)
                : Quantizer.calibrate((MultiLayerNetwork) ref.untrained(), calibration, options);
    }
}
