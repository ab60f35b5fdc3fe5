package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.graph.TensorQuantization;

/**
 * A kernel that writes the levels of a grid narrower than its destination type (6-bit activations in u8) clips them
 * to the grid, as the fake-quant graph does: inputs twice as large as the calibration's push activations past their
 * ranges, and every point's levels stay within its grid, equal to the fake-quant graph's.
 */
class Int8NarrowGridTest {

    @Test
    void levelsOfASixBitGridWrittenByAKernelStayWithinIt() {
        QuantizedModel q = Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(16, 784, 10, 2, 8),
                QuantizationOptions.builder().activationBits(6).granularity(Granularity.PER_TENSOR).build());
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        Nd4j.getRandom().setSeed(283);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 784).muli(2);
        INDArray integer = q.output(x); // builds the plan
        Map<String, INDArray> trace = q.int8Network().trace(x);
        Map<String, INDArray> graph = q.graph().output(Map.of(q.graph().inputs().get(0), x),
                trace.keySet().stream().filter(n -> n.endsWith(":q") && q.graph().hasVariable(n))
                        .toArray(String[]::new));
        int checked = 0;
        for (TensorQuantization t : q.quantizations()) {
            INDArray levels = trace.get(t.tensor() + ":q");
            if (t.kind() != TensorQuantization.Kind.ACTIVATION || levels == null) {
                continue;
            }
            double max = levels.maxNumber().doubleValue();
            double min = levels.minNumber().doubleValue();
            assertTrue(max <= t.grid().qmax() && min >= t.grid().qmin(), t.tensor() + ": levels " + min + " to "
                    + max + " on " + t.grid());
            INDArray expected = graph.get(t.tensor() + ":q");
            if (expected != null) {
                double diff = levels.sub(expected.castTo(levels.dataType())).amaxNumber().doubleValue();
                assertTrue(diff <= 1, t.tensor() + ": levels differ from the fake-quant graph's by " + diff);
            }
            checked++;
        }
        assertTrue(checked >= 3, "points checked: " + checked);
        INDArray simulated = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        assertEquals(simulated.argMax(1), integer.argMax(1));
    }
}
