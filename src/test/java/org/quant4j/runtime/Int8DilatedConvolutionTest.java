package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;

/**
 * Dilated convolutions (kernels spelled out undilated by the converter) quantized and run by the int8 plan: every
 * convolution an int8 kernel, top-1 and every quantization point's levels against the fake-quant graph.
 */
class Int8DilatedConvolutionTest {

    private static final long[] IMAGE = {32, 3, 16, 16};

    /**
     * conv 3x3 (Same) -> conv 3x3 dilation 2 (Same) -> depthwise 3x3 dilation 2 (multiplier 1, Same) -> separable
     * 3x2 dilation (2, 3), stride 2 (Truncate) -> conv 3x2 dilation (2, 3) without bias (Truncate) -> global
     * average -> softmax.
     */
    private static MultiLayerNetwork dilatedClassifier() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(103).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(3, 3).dilation(2, 2).nOut(8)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build())
                .layer(new DepthwiseConvolution2D.Builder(3, 3).dilation(2, 2).depthMultiplier(1).nOut(8)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build())
                .layer(new SeparableConvolution2D.Builder(3, 2).dilation(2, 3).stride(2, 2).nOut(12)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(3, 2).dilation(2, 3).nOut(12).hasBias(false)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder().nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(16, 16, 3)).build());
        net.init();
        return net;
    }

    @Test
    void dilatedConvolutionsRunAsInt8KernelsAndAgreeWithFakeQuant() {
        int weightBits = Dnnl.exactInt8Products() ? 8 : 7;
        QuantizedModel model = Quantizer.quantize(dilatedClassifier(), TestNetworks.randomIterator(32, IMAGE, 4, 4,
                107), QuantizationOptions.builder().weightBits(weightBits).build());
        long agree = 0;
        long total = 0;
        double maxDiff = 0;
        for (int b = 0; b < 16; b++) {
            Nd4j.getRandom().setSeed(109 + b);
            INDArray x = Nd4j.rand(DataType.FLOAT, IMAGE);
            INDArray int8 = model.outputs(Execution.INT8, x)[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
            agree += int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            total += x.size(0);
            maxDiff = Math.max(maxDiff, int8.sub(fake).amaxNumber().doubleValue());
        }
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        Nd4j.getRandom().setSeed(127);
        Int8GraphTest.Levels levels = Int8GraphTest.levels(model, Nd4j.rand(DataType.FLOAT, IMAGE));
        String summary = model.int8Network().summary(new long[] {1, 3, 16, 16});
        double agreement = agree / (double) total;
        System.out.printf("dilated classifier (%s): int8 vs fake-quant top-1 agreement %.2f%% on %d inputs,"
                + " max |p diff| %.2e; levels of every quantization point (%d values): %d differ end to end"
                + " (by at most %d), %d from the same inputs (by at most %d)%n", summary, 100 * agreement, total, maxDiff, levels.count(),
                levels.off(), levels.max(), levels.localOff(), levels.localMax());
        // conv, dilated conv, depthwise, separable (depthwise + pointwise), dilated conv, dense
        assertTrue(summary.startsWith("7 int8 kernels"), summary);
        assertTrue(agreement >= 0.99, "top-1 agreement " + agreement);
        assertTrue(maxDiff < 0.05, "largest probability difference " + maxDiff);
        assertTrue(levels.localMax() <= 1, "from the same inputs, levels differ by up to " + levels.localMax());
        assertTrue(levels.localOff() <= levels.count() / 10_000, "from the same inputs, " + levels.localOff()
                + " of " + levels.count() + " levels differ");
        assertTrue(levels.off() <= levels.count() / 1000, levels.off() + " of " + levels.count()
                + " levels differ end to end");
    }
}
