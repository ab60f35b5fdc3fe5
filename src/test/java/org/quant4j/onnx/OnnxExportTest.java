package org.quant4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;

/** The ONNX export of small test networks, run in ONNX Runtime against quant4j's int8 plan. */
class OnnxExportTest {

    @TempDir
    Path tmp;

    @Test
    void testCnnRunsOnIntegerKernelsAndAgreesWithTheInt8Plan() throws Exception {
        Datasets data = Datasets.fromEnvironment();
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, data.iterator(Dataset.MNIST, Split.TRAIN, Subset.first(256), 64));
        INDArray x = data.load(Dataset.MNIST, Split.TEST, Subset.first(1000)).features();
        try (OrtCheck ort = OrtCheck.export(q, tmp)) {
            System.out.println("optimized graph: " + ort.opCounts());
            assertEquals(java.util.List.of(), ort.floatKernels(), "float convolutions or matrix products");
            assertEquals(4, ort.integerKernels());
            INDArray expected = q.outputs(Execution.INT8, x)[0];
            INDArray actual = ort.output(x);
            double agree = expected.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                    / x.size(0);
            System.out.printf("top-1 agreement %.4f, max |diff| %.3g%n", agree,
                    expected.sub(actual).amaxNumber().doubleValue());
            assertTrue(agree >= 0.999, "top-1 agreement " + agree);
        }
    }
}
