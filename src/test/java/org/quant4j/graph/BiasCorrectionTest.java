package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.Calibration;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.accuracy.ReferenceNetwork;
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

    @Test
    void removesTheMeanShiftOfFourBitWeights() {
        MultiLayerNetwork net = new MultiLayerNetwork((MultiLayerConfiguration) ReferenceNetwork.MOBILENET_FASHION
                .configuration());
        net.init();
        BatchNormFoldingTest.randomizeBatchNorms(net.getLayers());
        LabeledImages images = Datasets.fromEnvironment().calibrationSet(Dataset.FASHION_MNIST, 128, 3);
        // MinMax ranges: activations are not clipped, so the mean shift is the weights' (what bias correction
        // removes); clipping by a tighter method shifts means too, which this correction does not address.
        QuantizationOptions plain = QuantizationOptions.builder().rangeMethod("minmax")
                .granularity(Granularity.PER_TENSOR).weightBits(4).activationBits(8).build();
        Calibration calibration = Quantizer.calibrate(net, images.iterator(64), plain);
        QuantizedModel without = calibration.quantize(plain);
        QuantizedModel with = calibration.quantize(QuantizationOptions.builder().rangeMethod("minmax")
                .granularity(Granularity.PER_TENSOR).weightBits(4).activationBits(8).biasCorrection(true).build());
        ModelGraph fp32 = BatchNormFolding.fold(Dl4jConverter.convert(net));
        List<String> tensors = List.of("stem_conv/preact", "ds1_dw/preact", "ds1_pw/preact", "ds4_pw/preact");
        double[] before = worstChannelShift(fp32, without, images.features(), tensors);
        double[] after = worstChannelShift(fp32, with, images.features(), tensors);
        for (int i = 0; i < tensors.size(); i++) {
            assertTrue(after[i] < 0.5 * before[i], tensors.get(i) + ": worst channel mean shift " + before[i]
                    + " without bias correction, " + after[i] + " with");
        }
    }
}
