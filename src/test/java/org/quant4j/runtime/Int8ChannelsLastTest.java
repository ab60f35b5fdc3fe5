package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
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
 * A channels-last (NHWC) CNN quantized and run by the int8 plan: its convolutions int8 kernels with no layout
 * conversion between them, top-1 and every quantization point's levels against the fake-quant graph.
 */
class Int8ChannelsLastTest {

    private static final long[] IMAGE = {32, 12, 12, 2};

    /** conv 3x3 NHWC -> BatchNorm NHWC -> ReLU -> max pool NHWC -> conv 3x3 NHWC -> flatten (NHWC) -> dense -> softmax. */
    static MultiLayerNetwork nhwcClassifier() {
        CNN2DFormat nhwc = CNN2DFormat.NHWC;
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(83).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).dataFormat(nhwc).activation(Activation.IDENTITY)
                        .build())
                .layer(new BatchNormalization.Builder().dataFormat(nhwc).build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .dataFormat(nhwc).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(12).dataFormat(nhwc).activation(Activation.RELU)
                        .build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder().nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(12, 12, 2, nhwc)).build());
        net.init();
        Nd4j.getRandom().setSeed(89);
        net.getLayer(1).setParam("mean", Nd4j.rand(DataType.FLOAT, 1, 8).subi(0.5));
        net.getLayer(1).setParam("var", Nd4j.rand(DataType.FLOAT, 1, 8).addi(0.5));
        net.getLayer(1).setParam("gamma", Nd4j.rand(DataType.FLOAT, 1, 8).addi(0.5));
        return net;
    }

    @Test
    void nhwcConvolutionsRunAsInt8KernelsAndAgreeWithFakeQuant() {
        int weightBits = Dnnl.exactInt8Products() ? 8 : 7;
        MultiLayerNetwork net = nhwcClassifier();
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(32, IMAGE, 4, 4, 97),
                QuantizationOptions.builder().weightBits(weightBits).build());
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        long agree = 0;
        long total = 0;
        double maxDiff = 0;
        double maxFp32Diff = 0;
        for (int b = 0; b < 16; b++) {
            Nd4j.getRandom().setSeed(101 + b);
            INDArray x = Nd4j.rand(DataType.FLOAT, IMAGE);
            INDArray int8 = model.outputs(Execution.INT8, x)[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
            agree += int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            total += x.size(0);
            maxDiff = Math.max(maxDiff, int8.sub(fake).amaxNumber().doubleValue());
            maxFp32Diff = Math.max(maxFp32Diff, fake.sub(net.output(x, false)).amaxNumber().doubleValue());
        }
        Nd4j.getRandom().setSeed(113);
        Int8GraphTest.Levels levels = Int8GraphTest.levels(model, Nd4j.rand(DataType.FLOAT, IMAGE));
        String summary = model.int8Network().summary(new long[] {1, 12, 12, 2});
        double agreement = agree / (double) total;
        System.out.printf("NHWC classifier (%s): int8 vs fake-quant top-1 agreement %.2f%% on %d inputs, max |p diff|"
                + " %.2e (fake-quant vs DL4J fp32 %.2e); levels of every quantization point (%d values): %d differ end"
                + " to end (by at most %d), %d from the same inputs (by at most %d)%n", summary, 100 * agreement, total,
                maxDiff, maxFp32Diff, levels.count(), levels.off(), levels.max(), levels.localOff(), levels.localMax());
        model.int8Network().profile(3, Nd4j.rand(DataType.FLOAT, 1, 12, 12, 2)).forEach(System.out::println);
        assertTrue(summary.startsWith("4 int8 kernels"), summary); // conv, conv, dense, dense
        assertTrue(!summary.contains("permute"), "the input's permute runs as an island: " + summary);
        assertTrue(agreement >= 0.99, "top-1 agreement " + agreement);
        assertTrue(maxDiff < 0.05, "largest probability difference " + maxDiff);
        assertTrue(levels.localMax() <= 1, "from the same inputs, levels differ by up to " + levels.localMax());
        assertTrue(levels.off() <= levels.count() / 1000, levels.off() + " of " + levels.count()
                + " levels differ end to end");
    }

    @Tag("slow") // a second quantization: run in mvn verify
    @Test
    void nhwcOutputIsCopiedOutOfTheNhwcBuffer() {
        CNN2DFormat nhwc = CNN2DFormat.NHWC;
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(131).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).dataFormat(nhwc).activation(Activation.RELU)
                        .convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same).build())
                .layer(new ConvolutionLayer.Builder(1, 1).nOut(3).dataFormat(nhwc).activation(Activation.IDENTITY)
                        .build())
                .setInputType(InputType.convolutional(9, 7, 3, nhwc)).build());
        net.init();
        long[] image = {16, 9, 7, 3};
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(16, image, 3, 4, 137),
                QuantizationOptions.builder().weightBits(Dnnl.exactInt8Products() ? 8 : 7).build());
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        Nd4j.getRandom().setSeed(139);
        INDArray x = Nd4j.rand(DataType.FLOAT, image);
        INDArray int8 = model.outputs(Execution.INT8, x)[0];
        INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
        INDArray fp32 = net.output(x, false);
        String summary = model.int8Network().summary(image);
        double diff = int8.sub(fake).amaxNumber().doubleValue();
        System.out.printf("NHWC fully convolutional (%s): output %s, max |int8 - fake-quant| %.2e, max |fake-quant -"
                + " fp32| %.2e of max |fp32| %.2e%n", summary, java.util.Arrays.toString(int8.shape()), diff,
                fake.sub(fp32).amaxNumber().doubleValue(), fp32.amaxNumber().doubleValue());
        assertEquals(java.util.Arrays.toString(fp32.shape()), java.util.Arrays.toString(int8.shape()));
        assertTrue(summary.startsWith("2 int8 kernels") && summary.contains(" 0 fp32 island ops"), summary);
        assertTrue(diff <= 1e-5 * fp32.amaxNumber().doubleValue(), "int8 and fake-quant differ by " + diff);
        assertTrue(fake.sub(fp32).amaxNumber().doubleValue() < 0.05 * fp32.amaxNumber().doubleValue(),
                "fake-quant far from fp32");
    }
}
