package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.Calibration;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.reference.ReferenceNetwork;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;

/** Bias correction on a MobileNet-style network (random weights, random BatchNorms) and real images. */
class BiasCorrectionTest {

    /** The largest |mean over the calibration images and positions| of the error of any channel of each tensor. */
    private static double[] worstChannelShift(ModelGraph fp32, QuantizedModel q, INDArray x, List<String> tensors) {
        Map<String, INDArray> reference = GraphExecution.output(fp32.graph(), Map.of("input", x), tensors);
        Map<String, INDArray> quantized = GraphExecution.output(q.graph(), Map.of("input", x), tensors);
        double[] worst = new double[tensors.size()];
        for (int i = 0; i < tensors.size(); i++) {
            INDArray err = quantized.get(tensors.get(i)).sub(reference.get(tensors.get(i)));
            worst[i] = err.mean(0, 2, 3).amaxNumber().doubleValue();
        }
        return worst;
    }

    /**
     * Each layer quantized alone (every other layer kept in fp32), so that its input is the fp32 network's and the
     * mean shift of its output is its own quantization's (its weights' and its input's): what bias correction
     * measures on the calibration batches and removes. Checked on other images than the calibration's, at 4-bit
     * weights and activations with the default range method, for every layer (depthwise layers on 7x7 and 4x4 maps
     * included, where padding makes most positions borders).
     */
    @Test
    @Tag("slow")
    void removesTheMeanShiftOfFourBitQuantization() {
        MultiLayerNetwork net = new MultiLayerNetwork((MultiLayerConfiguration) ReferenceNetwork.MOBILENET_FASHION
                .configuration());
        net.init();
        BatchNormFoldingTest.randomizeBatchNorms(net.getLayers());
        Datasets data = Datasets.fromEnvironment();
        LabeledImages images = data.calibrationSet(Dataset.FASHION_MNIST, 256, 3);
        LabeledImages other = data.calibrationSet(Dataset.FASHION_MNIST, 256, 4);
        Calibration calibration = Quantizer.calibrate(net, images.iterator(64), QuantizationOptions.defaults());
        ModelGraph fp32 = BatchNormFolding.fold(Dl4jConverter.convert(net));
        List<String> layers = List.of("stem_conv", "ds1_dw", "ds1_pw", "ds2_dw", "ds2_pw", "ds3_dw", "ds3_pw",
                "ds4_dw", "ds4_pw", "out");
        for (String layer : layers.subList(0, layers.size() - 1)) {
            String[] others = layers.stream().filter(l -> !l.equals(layer)).toArray(String[]::new);
            QuantizedModel without = calibration.quantize(QuantizationOptions.builder().weightBits(4).activationBits(4)
                    .keepFp32(others).biasCorrection(false).build());
            QuantizedModel with = calibration.quantize(QuantizationOptions.builder().weightBits(4).activationBits(4)
                    .keepFp32(others).biasCorrection(true).build());
            List<String> tensor = List.of(layer + "/preact");
            double before = worstChannelShift(fp32, without, other.features(), tensor)[0];
            double after = worstChannelShift(fp32, with, other.features(), tensor)[0];
            assertTrue(after < 0.5 * before, layer + ": worst channel mean shift " + before
                    + " without bias correction, " + after + " with");
        }
    }
}
