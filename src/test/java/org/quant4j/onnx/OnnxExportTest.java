package org.quant4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.runtime.Dnnl;

/**
 * The ONNX export of a small test CNN (convolutions with and without a ReLU into the next point, BatchNorm folded,
 * max and average pooling, leaky ReLU, tanh, dense layers, softmax) on real MNIST images, run in ONNX Runtime against
 * quant4j's int8 plan; and an op without an ONNX form refused by name.
 */
class OnnxExportTest {

    @TempDir
    Path tmp;

    private static Datasets data;
    private static MultiLayerNetwork net;
    private static QuantizedModel q;
    private static INDArray x;

    @BeforeAll
    static void quantize() {
        data = Datasets.fromEnvironment();
        net = TestNetworks.cnn();
        q = Quantizer.quantize(net, data.iterator(Dataset.MNIST, Split.TRAIN, Subset.first(256), 64));
        x = data.load(Dataset.MNIST, Split.TEST, Subset.first(1000)).features();
    }

    @ParameterizedTest
    @EnumSource(OnnxExport.Form.class)
    void testCnnRunsOnIntegerKernelsAndAgreesWithTheInt8Plan(OnnxExport.Form form) throws Exception {
        try (OrtCheck ort = OrtCheck.export(q, tmp, form)) {
            System.out.println(form + " optimized graph: " + ort.opCounts());
            assertEquals(List.of(), ort.floatKernels(), "float convolutions or matrix products");
            assertEquals(4, ort.integerKernels(), "integer ops for the 2 convolutions and 2 dense layers");
            if (form == OnnxExport.Form.QDQ) {
                assertTrue(ort.opCounts().getOrDefault("QLinearConv", 0) >= 1, "conv1 -> relu1 fused: " + ort.opCounts());
            }
            INDArray expected = q.outputs(Execution.INT8, x)[0];
            INDArray actual = ort.output(x);
            double agree = expected.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                    / x.size(0);
            System.out.printf("%s: top-1 agreement %.4f, max |p diff| %.3g%n", form, agree,
                    expected.sub(actual).amaxNumber().doubleValue());
            assertTrue(agree >= 0.999, "top-1 agreement " + agree);
        }
    }

    /**
     * Zero points at every two-sided point (the leaky ReLU's and tanh's), per tensor: QuantizeLinear and
     * DequantizeLinear carry them, and the integer kernels take them as their input zero point, in both forms.
     */
    @ParameterizedTest
    @EnumSource(OnnxExport.Form.class)
    void zeroPointsRunInOnnxRuntimeAsInTheInt8Plan(OnnxExport.Form form) throws Exception {
        QuantizedModel zp = Quantizer.quantize(net, data.iterator(Dataset.MNIST, Split.TRAIN, Subset.first(256), 64),
                QuantizationOptions.builder().activationGranularity(Granularity.PER_TENSOR)
                        .activationZeroPoints(org.quant4j.ZeroPoints.ON).build());
        assertTrue(zp.quantizations().stream().anyMatch(t -> t.hasZeroPoints() && t.zeroPoint(0) > 0),
                "no point with a zero point: " + zp.quantizations());
        assertEquals(Execution.INT8, zp.execution(), zp.int8Unavailable());
        try (OrtCheck ort = OrtCheck.export(zp, tmp, form)) {
            assertEquals(List.of(), ort.floatKernels(), "float convolutions or matrix products");
            assertEquals(4, ort.integerKernels(), ort.opCounts().toString());
            INDArray expected = zp.outputs(Execution.INT8, x)[0];
            INDArray actual = ort.output(x);
            double agree = expected.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                    / x.size(0);
            INDArray simulated = zp.outputs(Execution.FAKE_QUANT, x)[0];
            double ours = expected.argMax(1).eq(simulated.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                    / x.size(0);
            System.out.printf("zero points per tensor, %s: top-1 agreement %.4f, max |p diff| %.3g (int8 plan vs"
                    + " fake-quant: %.4f; oneDNN ISA %s); %s%n", form, agree,
                    expected.sub(actual).amaxNumber().doubleValue(), ours, Dnnl.isa(), ort.opCounts());
            assertTrue(ours >= 0.999, "int8 plan vs fake-quant top-1 agreement " + ours);
            // ONNX Runtime 1.22's integer kernels with activation zero points, as its MLAS picks them on a CPU with
            // AMX, agree with quant4j's fake-quant graph and with the int8 plan on 97.3 to 97.4 % of these images
            // (measured on a Xeon with AMX, where the int8 plan agrees with the fake-quant graph on 100 %): a
            // difference on the peer's side; without AMX (AVX-512 VNNI) all three agree on at least 99.9 %.
            boolean amx = Dnnl.isa().toString().contains("amx");
            assertTrue(agree >= (amx ? 0.97 : 0.999), "top-1 agreement " + agree);
        }
    }

    @Test
    void sixBitPerTensorActivationsAreClippedToTheirGrid() throws Exception {
        QuantizedModel a6 = Quantizer.quantize(net, data.iterator(Dataset.MNIST, Split.TRAIN, Subset.first(256), 64),
                QuantizationOptions.builder().activationBits(6).granularity(Granularity.PER_TENSOR).build());
        assertEquals(Execution.INT8, a6.execution(), a6.int8Unavailable());
        try (OrtCheck ort = OrtCheck.export(a6, tmp, OnnxExport.Form.EXACT)) {
            assertEquals(List.of(), ort.floatKernels());
            assertEquals(4, ort.integerKernels(), ort.opCounts().toString());
            INDArray expected = a6.outputs(Execution.INT8, x)[0];
            INDArray actual = ort.output(x);
            double agree = expected.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                    / x.size(0);
            double diff = expected.sub(actual).amaxNumber().doubleValue();
            System.out.printf("A6 per tensor, EXACT: top-1 agreement %.4f, max |p diff| %.3g; %s%n", agree, diff,
                    ort.opCounts());
            assertTrue(agree >= 0.999, "top-1 agreement " + agree);
            assertTrue(ort.opCounts().getOrDefault("Clip", 0) >= 4, "6-bit grids clipped: " + ort.opCounts());
        }
    }

    @Test
    void theFp32GraphRunsInOnnxRuntimeAsDl4jRunsTheNetwork() throws Exception {
        org.quant4j.graph.ModelGraph graph = org.quant4j.convert.Dl4jConverter.convert(net);
        Path file = tmp.resolve("fp32.onnx");
        OnnxExport.write(graph.graph(), List.of(), graph.inputs(), graph.outputs(), OnnxExport.Form.QDQ, file);
        try (OrtCheck ort = OrtCheck.open(file, tmp)) {
            assertEquals(0, ort.integerKernels(), ort.opCounts().toString());
            // the check the quantized exports pass, failing here: float convolutions and products are seen
            assertEquals(4, ort.floatKernels().size(), ort.floatKernels().toString());
            INDArray expected = net.output(x, false);
            double diff = expected.sub(ort.output(x)).amaxNumber().doubleValue();
            System.out.printf("fp32: ONNX Runtime vs DL4J, max |p diff| %.3g; %s%n", diff, ort.opCounts());
            assertTrue(diff < 1e-5, "largest difference " + diff);
        }
    }

    @Test
    void anOpWithoutAnOnnxFormIsRefusedByNameAndNothingIsWritten() {
        MultiLayerNetwork islands = TestNetworks.islandCnn(); // local response normalization: no ONNX export
        QuantizedModel withLrn = Quantizer.quantize(islands, TestNetworks.randomIterator(8, 784, 10, 2, 4));
        File file = tmp.resolve("island.onnx").toFile();
        OnnxExportException e = assertThrows(OnnxExportException.class, () -> withLrn.exportOnnx(file));
        assertTrue(e.getMessage().contains("(lrn,") && e.getMessage().contains(file.getName()), e.getMessage());
        assertFalse(file.exists());
        assertEquals(List.of(), List.of(tmp.toFile().list()), "files left behind");
    }
}
