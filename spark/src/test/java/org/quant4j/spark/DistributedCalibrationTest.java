package org.quant4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.quant4j.Calibration;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.Histogram;
import org.quant4j.data.Dataset;
import org.quant4j.graph.TensorQuantization;

/**
 * Calibration over 4 partitions, merged with treeAggregate, against one machine calibrating on the same DataSets in
 * the same order: the statistics of every channel (counts, extremes and histograms exactly, moments to rounding),
 * then the solved ranges and the quantized model's outputs.
 */
class DistributedCalibrationTest {

    /**
     * Solved ranges: relative. The statistics agree to about 1e-12 (moments summed in another order); the fitted-PDF
     * solver's numerical fit, and the weight ranges that fold in the activation scales, carry that to about 1e-7.
     */
    static final double RANGE_TOLERANCE = 1e-5;

    @Test
    void mergedCalibrationEqualsOneMachine() {
        List<DataSet> sets = LocalSpark.dataSets(LocalSpark.DATA.calibrationSet(Dataset.MNIST, 2048, 11), 64);
        QuantizationOptions options = LocalSpark.options();

        Calibration distributed = DistributedCalibration.calibrate(LocalSpark.context(), LocalSpark.mlp(),
                LocalSpark.context().parallelize(sets, 4), options);
        Calibration single = Quantizer.calibrate(LocalSpark.mlp(), new ListDataSetIterator<>(sets, 1), options);

        assertEquals(2048, distributed.samples());
        assertEquals(single.batches(), distributed.batches());
        List<String> points = List.copyOf(single.sketch().tensors());
        assertEquals(points, List.copyOf(distributed.sketch().tensors()));
        assertEquals(3, points.size(), "the MLP's three dense layers' inputs: " + points);
        for (String tensor : points) {
            ChannelStatistics[] e = single.statistics(tensor, true);
            ChannelStatistics[] a = distributed.statistics(tensor, true);
            assertEquals(e.length, a.length, tensor);
            for (int c = 0; c < e.length; c++) {
                assertSameStatistics(e[c], a[c], tensor + " channel " + c);
            }
            assertSameStatistics(single.statistics(tensor, false)[0], distributed.statistics(tensor, false)[0],
                    tensor + " per tensor");
        }

        QuantizedModel fromOne = single.quantize(options);
        QuantizedModel fromCluster = distributed.quantize(options);
        assertEquals(fromOne.quantizations().size(), fromCluster.quantizations().size());
        double worst = 0;
        for (int i = 0; i < fromOne.quantizations().size(); i++) {
            TensorQuantization e = fromOne.quantizations().get(i);
            TensorQuantization a = fromCluster.quantizations().get(i);
            assertEquals(e.tensor(), a.tensor());
            assertEquals(e.axis(), a.axis(), e.tensor());
            for (int c = 0; c < e.scales().length; c++) {
                worst = Math.max(worst, relative(e.lo()[c], a.lo()[c]));
                worst = Math.max(worst, relative(e.hi()[c], a.hi()[c]));
                worst = Math.max(worst, relative(e.scales()[c], a.scales()[c]));
                assertClose(e.lo()[c], a.lo()[c], RANGE_TOLERANCE, e.tensor() + " lo " + c);
                assertClose(e.hi()[c], a.hi()[c], RANGE_TOLERANCE, e.tensor() + " hi " + c);
                assertClose(e.scales()[c], a.scales()[c], RANGE_TOLERANCE, e.tensor() + " scale " + c);
            }
        }
        System.out.printf("distributed calibration: largest relative difference of a range or scale %.3g%n", worst);
        INDArray x = LocalSpark.testImages().features();
        INDArray one = fromOne.output(x);
        INDArray cluster = fromCluster.output(x);
        assertTrue(one.equalsWithEps(cluster, 1e-4), "outputs differ by up to "
                + one.sub(cluster).amaxNumber() + " (ranges equal to rounding)");
    }

    @Test
    void sequentialPassesAreRefused() {
        QuantizationOptions sequential = QuantizationOptions.builder().sequentialPasses(1).build();
        List<DataSet> sets = LocalSpark.dataSets(LocalSpark.testImages(), 500);
        QuantizationException e = assertThrows(QuantizationException.class, () -> DistributedCalibration.calibrate(
                LocalSpark.context(), LocalSpark.mlp(), LocalSpark.context().parallelize(sets, 2), sequential));
        assertTrue(e.getMessage().contains("sequentialPasses 1"), e.getMessage());
    }

    /** Counts, zeros, extremes and histogram bins exactly; mean and central sums to rounding. */
    static void assertSameStatistics(ChannelStatistics e, ChannelStatistics a, String what) {
        assertEquals(e.count(), a.count(), what + " count");
        assertEquals(e.zeros(), a.zeros(), what + " zeros");
        assertEquals(e.min(), a.min(), what + " min");
        assertEquals(e.max(), a.max(), what + " max");
        assertClose(e.mean(), a.mean(), 1e-12, what + " mean");
        for (int p = 2; p <= ChannelStatistics.MAX_ORDER; p++) {
            assertClose(e.centralSum(p), a.centralSum(p), 1e-9, what + " M" + p);
        }
        assertEquals(occupiedBins(e.histogram()), occupiedBins(a.histogram()), what + " histogram");
    }

    /** The bin width and the non-empty bins by left edge: layouts of the same grid compare equal. */
    static Map<String, Long> occupiedBins(Histogram h) {
        Map<String, Long> bins = new TreeMap<>();
        bins.put("width", Double.doubleToLongBits(h.binWidth()));
        for (int i = 0; i < h.bins(); i++) {
            if (h.count(i) != 0) {
                bins.put(Double.toString(h.edge(i)), h.count(i));
            }
        }
        return bins;
    }

    static double relative(double e, double a) {
        return e == a ? 0 : Math.abs(e - a) / Math.max(Math.abs(e), Math.abs(a));
    }

    static void assertClose(double expected, double actual, double relative, String what) {
        double tolerance = relative * Math.max(Math.abs(expected), Math.abs(actual));
        assertTrue(expected == actual || Math.abs(expected - actual) <= tolerance,
                what + ": expected " + expected + ", got " + actual);
    }
}
