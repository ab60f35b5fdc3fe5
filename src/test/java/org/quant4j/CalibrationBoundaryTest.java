package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Iterator;
import java.util.List;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.TensorQuantization;

/**
 * Calibration data as iterators hand it out (issue 25, item 4): an iterator that refills one buffer for every batch
 * gives the model that distinct arrays give, data cut off by the batch limit is reported, and masks that mask values
 * out are refused with the batch named.
 */
class CalibrationBoundaryTest {

    private static final int BATCHES = 4;

    private static List<DataSet> batches(long seed) {
        Nd4j.getRandom().setSeed(seed);
        return java.util.stream.IntStream.range(0, BATCHES)
                .mapToObj(i -> new DataSet(Nd4j.rand(DataType.FLOAT, 16, 784), Nd4j.zeros(DataType.FLOAT, 16, 10)))
                .toList();
    }

    /** An iterator that hands out one DataSet, its arrays refilled with each batch's values, as pooled loaders do. */
    private static Iterator<DataSet> reusingOneBuffer(List<DataSet> batches) {
        DataSet buffer = new DataSet(Nd4j.create(DataType.FLOAT, 16, 784), Nd4j.create(DataType.FLOAT, 16, 10));
        Iterator<DataSet> source = batches.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return source.hasNext();
            }

            @Override
            public DataSet next() {
                DataSet next = source.next();
                buffer.getFeatures().assign(next.getFeatures());
                buffer.getLabels().assign(next.getLabels());
                return buffer;
            }
        };
    }

    @Test
    void anIteratorReusingOneBufferGivesTheModelOfDistinctArrays() {
        MultiLayerNetwork net = TestNetworks.cnn();
        // bias correction and the SQNR report read the kept batches again after the iterator has moved on
        QuantizationOptions options = QuantizationOptions.builder().biasCorrection(true).reportBatches(BATCHES)
                .build();
        List<DataSet> data = batches(9);
        QuantizedModel distinct = Quantizer.quantize(net, new ExistingDataSetIterator(data), options);
        QuantizedModel reused = Quantizer.quantize(net, new ExistingDataSetIterator(reusingOneBuffer(data)), options);
        for (TensorQuantization t : distinct.quantizations()) {
            TensorQuantization u = reused.quantizations().stream().filter(x -> x.tensor().equals(t.tensor()))
                    .findFirst().orElseThrow();
            assertArrayEquals(t.scales(), u.scales(), 0f, t.tensor());
        }
        assertEquals(distinct.report().layers(), reused.report().layers(), "the SQNR measured on the kept batches");
        INDArray x = data.get(0).getFeatures();
        assertArrayEquals(distinct.output(x).dup('c').reshape(-1).toFloatVector(),
                reused.output(x).dup('c').reshape(-1).toFloatVector(), 0f, "the bias-corrected outputs");
    }

    @Test
    void dataCutOffByTheBatchLimitIsReported() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizationOptions two = QuantizationOptions.builder().calibrationBatches(2).build();
        QuantizedModel cut = Quantizer.quantize(net, new ExistingDataSetIterator(batches(1)), two);
        assertTrue(cut.report().calibrationCutOff());
        assertEquals(2, cut.report().calibrationBatches());
        QuantizationOptions all = QuantizationOptions.builder().calibrationBatches(BATCHES).build();
        QuantizedModel whole = Quantizer.quantize(net, new ExistingDataSetIterator(batches(1)), all);
        assertFalse(whole.report().calibrationCutOff());
        assertEquals(BATCHES * 16, whole.report().calibrationSamples());
    }

    @Test
    void aMaskThatMasksValuesOutIsRefusedNamingTheBatch() {
        MultiLayerNetwork net = TestNetworks.cnn();
        List<DataSet> data = batches(2);
        INDArray mask = Nd4j.ones(DataType.FLOAT, 16, 784);
        data.get(0).setFeaturesMaskArray(mask.dup());
        mask.putScalar(5, 7, 0);
        data.get(2).setFeaturesMaskArray(mask);
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(net, new ExistingDataSetIterator(data)));
        assertTrue(e.getMessage().contains("calibration batch 2") && e.getMessage().contains("mask"),
                e.getMessage());
        data.get(2).setFeaturesMaskArray(null);
        assertEquals(16, Quantizer.quantize(net, new ExistingDataSetIterator(data))
                .output(data.get(0).getFeatures()).size(0), "a mask of ones (nothing masked out) is accepted");
    }
}
