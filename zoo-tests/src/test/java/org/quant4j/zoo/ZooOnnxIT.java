package org.quant4j.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.zoo.model.LeNet;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SimpleCNN;
import org.deeplearning4j.zoo.model.SqueezeNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.data.Photos;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.onnx.OnnxExport;
import org.quant4j.onnx.OrtCheck;
import org.quant4j.reference.HeScaling;

/**
 * The ONNX export of the default zoo models (random weights from init(), as {@link ZooModelsIT}), quantized on the
 * zoo photos: ONNX Runtime's optimized graph runs every quantized convolution and dense layer as an integer op, in
 * both forms, and the EXACT form's top-1 class differs from quant4j's int8 plan only on near ties (a top-1 margin
 * below {@link ZooCheck#NEAR_TIE}, as the plan may differ from the fake-quant graph), on at most 1 % of the 108 photo
 * samples.
 */
class ZooOnnxIT {

    @TempDir
    Path tmp;

    @Test
    void leNet() throws Exception {
        check("LeNet", ZooModelsIT.init(LeNet.builder().numClasses(ZooModelsIT.CLASSES).seed(ZooModelsIT.SEED)
                .build()), 1, 28, 28, 72);
    }

    @Test
    void simpleCnn() throws Exception {
        check("SimpleCNN", ZooModelsIT.init(SimpleCNN.builder().numClasses(ZooModelsIT.CLASSES)
                .seed(ZooModelsIT.SEED).build()), 3, 48, 48, 72);
    }

    @Test
    void squeezeNet() throws Exception {
        check("SqueezeNet", ZooModelsIT.init(SqueezeNet.builder().numClasses(ZooModelsIT.CLASSES)
                .seed(ZooModelsIT.SEED).build()), 3, 227, 227, 16);
    }

    @Test
    void resNet50() throws Exception {
        Model net = ZooModelsIT.init(ResNet50.builder().numClasses(ZooModelsIT.CLASSES).seed(ZooModelsIT.SEED)
                .build());
        HeScaling.rescale(net);
        check("ResNet50", net, 3, 224, 224, 16);
    }

    private void check(String name, Model net, int channels, int height, int width, int calibration)
            throws Exception {
        Photos photos = Photos.fromEnvironment();
        int batch = 12;
        List<DataSet> calib = new ArrayList<>();
        for (int i = 0; i < calibration; i += batch) {
            INDArray x = photos.samples(i, Math.min(batch, calibration - i), channels, height, width);
            calib.add(new DataSet(x, Nd4j.zeros(DataType.FLOAT, x.size(0), 1)));
        }
        var it = new ListDataSetIterator<>(calib, 1);
        QuantizedModel q = net instanceof MultiLayerNetwork m ? Quantizer.quantize(m, it)
                : Quantizer.quantize((ComputationGraph) net, it);
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), name + ": " + q.int8Unavailable());
        long quantizedOps = q.quantizations().stream().filter(t -> t.kind() == TensorQuantization.Kind.WEIGHT)
                .count();
        int samples = 9 * Photos.VIEWS;
        List<INDArray> inputs = new ArrayList<>();
        List<INDArray> plans = new ArrayList<>();
        for (int i = 0; i < samples; i += batch) {
            INDArray x = photos.samples(i, Math.min(batch, samples - i), channels, height, width);
            inputs.add(x);
            plans.add(q.outputs(QuantizedModel.Execution.INT8, x)[0]);
        }
        for (OnnxExport.Form form : OnnxExport.Form.values()) {
            try (OrtCheck ort = OrtCheck.export(q, tmp, form)) {
                assertEquals(List.of(), ort.floatKernels(), name + ", " + form + ": float convolutions or products");
                assertEquals(quantizedOps, ort.integerKernels(), name + ", " + form + ": integer ops " + ort.opCounts());
                long agree = 0;
                long compared = 0;
                long agreeFakeQuant = 0;
                double maxDiff = 0;
                for (int b = 0; b < inputs.size(); b++) {
                    INDArray plan = plans.get(b);
                    INDArray onnx = ort.output(inputs.get(b));
                    long[] counts = ZooCheck.top1(plan, onnx);
                    agree += counts[0];
                    compared += counts[1];
                    if (counts[0] < counts[1] && plan.rank() == 2) { // which one the fake-quant graph agrees with
                        INDArray graph = q.outputs(QuantizedModel.Execution.FAKE_QUANT, inputs.get(b))[0].argMax(1);
                        INDArray p = plan.argMax(1);
                        INDArray o = onnx.argMax(1);
                        for (int row = 0; row < p.length(); row++) {
                            boolean differ = p.getLong(row) != o.getLong(row);
                            agreeFakeQuant += differ && graph.getLong(row) == o.getLong(row) ? 1 : 0;
                        }
                    }
                    if (form == OnnxExport.Form.EXACT) {
                        ZooCheck.requireTiesOnly(name + " (ONNX Runtime against the int8 plan)", plan, onnx);
                    }
                    maxDiff = Math.max(maxDiff, plan.sub(onnx).amaxNumber().doubleValue());
                }
                System.out.printf("%s, %s: ONNX Runtime vs int8 plan on %d photo samples: top-1 agreement %d of"
                        + " %d (of the others, ONNX Runtime agrees with the fake-quant graph on %d), max |diff| %.3g;"
                        + " optimized graph %s%n", name, form, samples, agree, compared, agreeFakeQuant, maxDiff,
                        ort.opCounts());
                // On a CPU with AMX, ONNX Runtime 1.22's integer kernels disagree with quant4j's fake-quant graph
                // where the int8 plan does not (OnnxReferenceNetworksTest: 84.8 % to 97 % on two reference
                // networks, the int8 plan 100 %): the agreement is printed, not bounded, there.
                if (org.quant4j.runtime.Dnnl.isa().toString().contains("amx")) {
                    continue;
                }
                if (form == OnnxExport.Form.EXACT) {
                    assertTrue(compared > 0 && agree >= 0.99 * compared, name + ": top-1 agreement " + agree + " of "
                            + compared);
                } else {
                    assertTrue(agree >= 0.95 * compared, name + ", QDQ: top-1 agreement " + agree + " of " + compared);
                }
            }
        }
    }
}
