package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.TensorQuantization;

/**
 * What crosses the API boundary (issue 25's first two reproductions): an empty batch is refused with the input named
 * instead of crashing the JVM in libnd4j, and integer calibration features (raw pixel bytes) are cast to FLOAT
 * instead of crashing it in an integer division.
 */
class InputBoundaryTest {

    private static DataSetIterator iterator(INDArray... features) {
        return new ExistingDataSetIterator(List.of(features).stream()
                .map(x -> new DataSet(x, Nd4j.zeros(DataType.FLOAT, x.size(0), 10))).toList());
    }

    /** 32 examples of whole pixel values 0..254, as FLOAT. */
    private static INDArray pixels(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        long[] full = new long[shape.length + 1];
        full[0] = 32;
        System.arraycopy(shape, 0, full, 1, shape.length);
        return Nd4j.rand(DataType.FLOAT, full).muli(255).castTo(DataType.INT32).castTo(DataType.FLOAT);
    }

    @Test
    void anEmptyBatchIsRefusedNamingTheInputOnEveryExecution() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 2, 5L));
        INDArray empty = Nd4j.create(DataType.FLOAT, 0, 784);
        for (QuantizedModel.Execution execution : QuantizedModel.Execution.values()) {
            if (execution == QuantizedModel.Execution.INT8 && q.execution() != QuantizedModel.Execution.INT8) {
                continue; // no int8 kernels on this machine: the fake-quant graph is checked
            }
            QuantizationException e = assertThrows(QuantizationException.class, () -> q.outputs(execution, empty));
            assertTrue(e.getMessage().contains("holds no values") && e.getMessage().contains("[0, 784]"),
                    execution + ": " + e.getMessage());
        }
        QuantizationException e = assertThrows(QuantizationException.class, () -> q.output(empty));
        assertTrue(e.getMessage().contains("network input"), e.getMessage());
        assertEquals(32, q.output(pixels(1, 784).div(255)).size(0), "the model still serves after the refusal");
    }

    @Test
    void textIsRefusedNamingTheInputAndItsType() {
        QuantizedModel q = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 2, 5L));
        INDArray text = Nd4j.create(List.of("a", "b"), 2);
        QuantizationException e = assertThrows(QuantizationException.class, () -> q.output(text));
        assertTrue(e.getMessage().contains("UTF8") && e.getMessage().contains("network input"), e.getMessage());
    }

    @Test
    void anEmptyCalibrationBatchIsRefusedNamingTheBatch() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Quantizer.quantize(net, iterator(Nd4j.create(DataType.FLOAT, 0, 784))));
        assertTrue(e.getMessage().contains("calibration batch 0") && e.getMessage().contains("holds no values"),
                e.getMessage());
    }

    @Test
    void integerCalibrationFeaturesQuantizeAsTheirFloatValues() {
        checkIntegerFeatures(TestNetworks.cnn(), 784);
        checkIntegerFeatures(TestNetworks.globalPoolingCnn(), 3, 16, 16);
    }

    /** Calibration and output on integer copies of pixel values give what the same values as FLOAT give. */
    private static void checkIntegerFeatures(MultiLayerNetwork net, long... shape) {
        INDArray a = pixels(1, shape);
        INDArray b = pixels(2, shape);
        QuantizedModel fromFloats = Quantizer.quantize(net, iterator(a, b));
        for (DataType type : List.of(DataType.UBYTE, DataType.INT32, DataType.INT64)) {
            QuantizedModel fromIntegers = Quantizer.quantize(net, iterator(a.castTo(type), b.castTo(type)));
            for (TensorQuantization t : fromFloats.quantizations()) {
                TensorQuantization u = fromIntegers.quantizations().stream()
                        .filter(x -> x.tensor().equals(t.tensor())).findFirst().orElseThrow();
                assertArrayEquals(t.scales(), u.scales(), 0f, type + ": " + t.tensor());
            }
            INDArray x = pixels(3, shape);
            assertArrayEquals(fromFloats.output(x).reshape(-1).toFloatVector(),
                    fromIntegers.output(x.castTo(type)).reshape(-1).toFloatVector(), 0f, type + ": outputs");
        }
    }
}
