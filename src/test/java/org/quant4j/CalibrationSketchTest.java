package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.Histogram;
import org.quant4j.graph.TensorQuantization;

/**
 * Distributed calibration without a cluster: calibrations of the same network on parts of the data, their sketches
 * sent through Java serialization and merged, give the statistics and the ranges of one calibration on all of it.
 */
class CalibrationSketchTest {

    static MultiLayerNetwork net;
    static final List<DataSet> batches = new ArrayList<>();
    static final QuantizationOptions OPTIONS = QuantizationOptions.builder().reportBatches(1).build();

    @BeforeAll
    static void data() {
        net = TestNetworks.cnn();
        DataSetIterator it = TestNetworks.randomIterator(16, 784, 10, 6, 21);
        while (it.hasNext()) {
            DataSet d = it.next();
            // Batches of different ranges, so that the merged histograms must grow.
            d.getFeatures().muli(1 + batches.size());
            batches.add(d);
        }
    }

    static DataSetIterator of(List<DataSet> part) {
        return new ListDataSetIterator<>(part, 1);
    }

    @SuppressWarnings("unchecked")
    static <T> T throughSerialization(T value) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }

    @Test
    void mergedPartsEqualOneCalibrationOnAllTheData() throws Exception {
        Calibration single = Quantizer.calibrate(net, of(batches), OPTIONS);
        Calibration first = Quantizer.calibrate(net, of(batches.subList(0, 2)), OPTIONS);
        CalibrationSketch a = throughSerialization(first.sketch());
        CalibrationSketch b = throughSerialization(Quantizer.calibrate(net, of(batches.subList(2, 5)), OPTIONS).sketch());
        CalibrationSketch c = throughSerialization(Quantizer.calibrate(net, of(batches.subList(5, 6)), OPTIONS).sketch());
        // Another order than the data's: the result must not depend on it beyond rounding.
        CalibrationSketch merged = c.merge(CalibrationSketch.empty()).merge(a.merge(b));
        assertEquals(6, merged.batches());
        assertEquals(96, merged.samples());
        assertEquals(single.sketch().tensors(), merged.tensors());
        assertTrue(merged.tensors().size() >= 3, "points: " + merged.tensors());

        Calibration distributed = first.withStatistics(merged);
        assertEquals(single.samples(), distributed.samples());
        assertEquals(single.batches(), distributed.batches());
        for (String tensor : merged.tensors()) {
            ChannelStatistics[] expected = single.statistics(tensor, true);
            ChannelStatistics[] actual = distributed.statistics(tensor, true);
            assertEquals(expected.length, actual.length, tensor);
            for (int ch = 0; ch < expected.length; ch++) {
                assertSameStatistics(expected[ch], actual[ch], tensor + " channel " + ch);
            }
            assertSameStatistics(single.statistics(tensor, false)[0], distributed.statistics(tensor, false)[0],
                    tensor + " per tensor");
        }
        // The first calibration itself is unchanged.
        assertEquals(32, first.samples());

        QuantizedModel expected = single.quantize(OPTIONS);
        QuantizedModel actual = distributed.quantize(OPTIONS);
        assertEquals(expected.quantizations().size(), actual.quantizations().size());
        for (int i = 0; i < expected.quantizations().size(); i++) {
            TensorQuantization e = expected.quantizations().get(i);
            TensorQuantization q = actual.quantizations().get(i);
            assertEquals(e.tensor(), q.tensor());
            assertEquals(e.axis(), q.axis(), e.tensor());
            for (int ch = 0; ch < e.scales().length; ch++) {
                assertClose(e.lo()[ch], q.lo()[ch], 1e-9, e.tensor() + " lo " + ch);
                assertClose(e.hi()[ch], q.hi()[ch], 1e-9, e.tensor() + " hi " + ch);
                assertClose(e.scales()[ch], q.scales()[ch], 1e-6, e.tensor() + " scale " + ch);
            }
        }
    }

    /** Counts, extremes and every histogram count exactly; the moments to rounding. */
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

    /** The non-empty bins, by left edge: two layouts of the same grid (width, anchored at 0) compare equal. */
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

    static void assertClose(double expected, double actual, double relative, String what) {
        double tolerance = relative * Math.max(1e-30, Math.max(Math.abs(expected), Math.abs(actual)));
        assertTrue(Math.abs(expected - actual) <= tolerance || expected == actual,
                what + ": expected " + expected + ", got " + actual);
    }

    @Test
    void emptySketchIsTheZeroOfMerging() {
        CalibrationSketch s = Quantizer.calibrate(net, of(batches.subList(0, 1)), OPTIONS).sketch();
        assertSame(s, s.merge(CalibrationSketch.empty()));
        assertSame(s, CalibrationSketch.empty().merge(s));
        assertTrue(CalibrationSketch.empty().isEmpty());
        Calibration c = Quantizer.calibrate(net, of(batches.subList(0, 1)), OPTIONS);
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> c.withStatistics(CalibrationSketch.empty()));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void sketchesOfAnotherNetworkAreRefusedNamingThePoints() {
        CalibrationSketch cnn = Quantizer.calibrate(net, of(batches.subList(0, 1)), OPTIONS).sketch();
        MultiLayerNetwork other = TestNetworks.mobileNetStyle();
        Calibration otherCalibration = Quantizer.calibrate(other,
                TestNetworks.randomIterator(4, 784, 10, 1, 3), OPTIONS);
        QuantizationException merge = assertThrows(QuantizationException.class,
                () -> cnn.merge(otherCalibration.sketch()));
        assertTrue(merge.getMessage().contains("different quantization points"), merge.getMessage());
        QuantizationException replace = assertThrows(QuantizationException.class,
                () -> otherCalibration.withStatistics(cnn));
        assertTrue(replace.getMessage().contains("missing"), replace.getMessage());
    }

    @Test
    void aCalibrationForSequentialPassesRefusesStatisticsFromElsewhere() {
        QuantizationOptions sequential = QuantizationOptions.builder().sequentialPasses(1).build();
        Calibration c = Quantizer.calibrate(net, of(batches.subList(0, 1)), sequential);
        QuantizationException e = assertThrows(QuantizationException.class, () -> c.withStatistics(c.sketch()));
        assertTrue(e.getMessage().contains("sequentialPasses 0"), e.getMessage());
    }
}
