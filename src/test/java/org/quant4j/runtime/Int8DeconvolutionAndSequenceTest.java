package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.QuantizableOps;

/**
 * Quantization of Deconvolution2D (a {@code deconv2d} op: quantized, weights per output channel on axis 2 of
 * [kH, kW, outC, inC]; the int8 runtime runs it as an fp32 island on the dequantized values) and of Convolution1DLayer
 * (a {@code conv2d} on [N, C, 1, W]: quantized and run by the int8 conv kernel like any 2D convolution).
 */
class Int8DeconvolutionAndSequenceTest {

    private static final long[] IMAGE = {32, 2, 8, 8};
    private static final long[] SEQUENCE = {32, 3, 32};

    /** conv -> deconv (stride 2) -> conv (stride 2) -> global max -> softmax. */
    private static MultiLayerNetwork deconvolutionClassifier() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(61).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.RELU).build())
                .layer(new Deconvolution2D.Builder(2, 2).stride(2, 2).nOut(4).activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(6).activation(Activation.RELU).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.MAX).build())
                .layer(new OutputLayer.Builder().nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(8, 8, 2)).build());
        net.init();
        return net;
    }

    /** conv1d (Same) -> max pool -> conv1d (Causal, dilation 2) -> global average -> softmax. */
    private static MultiLayerNetwork sequenceClassifier() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(67).list()
                .layer(new Convolution1DLayer.Builder(3, 1).nOut(8).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.RELU).build())
                .layer(new Subsampling1DLayer.Builder(SubsamplingLayer.PoolingType.MAX, 2, 2).build())
                .layer(new Convolution1DLayer.Builder(3, 1).nOut(8).dilation(2).convolutionMode(ConvolutionMode.Causal)
                        .activation(Activation.RELU).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder().nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(3, 32)).build());
        net.init();
        return net;
    }

    @Test
    void deconvolutionIsQuantizedPerOutputChannelOnAxisTwo() {
        List<QuantizableOp> ops = QuantizableOps.find(Dl4jConverter.convert(deconvolutionClassifier()).graph());
        assertEquals(List.of("conv2d", "deconv2d", "conv2d", "xw_plus_b"), ops.stream().map(QuantizableOp::type).toList());
        QuantizableOp deconv = ops.get(1);
        assertEquals("layer1/W", deconv.weight());
        assertEquals(2, deconv.weightAxis());
        assertEquals(3, deconv.weightInputAxis());
        assertEquals(1, deconv.activationAxis());
    }

    @Test
    void convolution1dIsQuantizedAsAConv2d() {
        var graph = Dl4jConverter.convert(sequenceClassifier()).graph();
        List<QuantizableOp> ops = QuantizableOps.find(graph);
        assertEquals(List.of("conv2d", "conv2d", "xw_plus_b"), ops.stream().map(QuantizableOp::type).toList());
        // [1, k, nIn, nOut] (YXIO): output channels on axis 3; the dilated kernel spans (3 - 1) * 2 + 1 taps.
        assertArrayEquals(new long[] {1, 3, 3, 8}, graph.getVariable(ops.get(0).weight()).getArr().shape());
        assertArrayEquals(new long[] {1, 5, 8, 8}, graph.getVariable(ops.get(1).weight()).getArr().shape());
        assertEquals(3, ops.get(0).weightAxis());
        assertEquals(2, ops.get(0).weightInputAxis());
    }

    /**
     * W8A8 fake-quant against DL4J fp32, per output channel of a deconvolution whose output channels differ in scale by
     * 10^4: quantizing its weights along any other axis than the output channels' would wipe out the small channels.
     */
    @Test
    void deconvolutionOutputKeepsItsSqnrInEveryChannel() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(71).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.RELU).build())
                .layer(new Deconvolution2D.Builder(3, 3).stride(2, 2).nOut(5).activation(Activation.IDENTITY).build())
                .layer(new CnnLossLayer.Builder().activation(Activation.IDENTITY).build())
                .setInputType(InputType.convolutional(8, 8, 2)).build());
        net.init();
        INDArray w = net.getLayer(1).getParam("W"); // [nIn, nOut, kH, kW]
        for (int o = 0; o < 5; o++) {
            w.get(NDArrayIndex.all(), NDArrayIndex.point(o), NDArrayIndex.all(), NDArrayIndex.all())
                    .muli(Math.pow(10, o - 2));
        }
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(32, IMAGE, 4, 4, 73),
                QuantizationOptions.builder().weightBits(8).build());
        INDArray x = input(IMAGE, 79);
        INDArray fp32 = net.output(x.dup(), false);
        INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
        double worst = Double.MAX_VALUE;
        for (int o = 0; o < 5; o++) {
            worst = Math.min(worst, sqnrDb(channel(fp32, o), channel(fake, o)));
        }
        System.out.printf("deconvolution W8A8: lowest output-channel SQNR %.1f dB%n", worst);
        assertTrue(worst > 30, "lowest output-channel SQNR " + worst + " dB");
    }

    @Test
    void sequenceClassifierKeepsItsSqnrAtW8A8() {
        MultiLayerNetwork net = sequenceClassifier();
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(32, SEQUENCE, 4, 4, 83),
                QuantizationOptions.builder().weightBits(8).build());
        INDArray x = input(SEQUENCE, 89);
        double db = sqnrDb(net.output(x.dup(), false), model.outputs(Execution.FAKE_QUANT, x)[0]);
        System.out.printf("Conv1D classifier W8A8: output SQNR %.1f dB%n", db);
        assertTrue(db > 30, "output SQNR " + db + " dB");
    }

    @Test
    void deconvolutionClassifierRunsInt8WithTheDeconvolutionAsAnIsland() {
        QuantizedModel model = int8(deconvolutionClassifier(), IMAGE);
        agreesWithFakeQuant("deconvolution classifier", model, IMAGE); // plans the int8 network
        String summary = model.int8Network().summary(new long[] {1, 2, 8, 8});
        System.out.println("deconvolution classifier: " + summary);
        assertTrue(summary.startsWith("3 int8 kernels"), summary); // two convolutions and the dense layer
        assertTrue(summary.contains("deconv2d=1"), summary);
    }

    @Test
    void sequenceClassifierRunsItsConvolutionsAsInt8Kernels() {
        QuantizedModel model = int8(sequenceClassifier(), SEQUENCE);
        agreesWithFakeQuant("Conv1D classifier", model, SEQUENCE); // plans the int8 network
        String summary = model.int8Network().summary(new long[] {1, 3, 32});
        System.out.println("Conv1D classifier: " + summary);
        assertTrue(summary.startsWith("3 int8 kernels"), summary); // both Conv1D layers and the dense layer
    }

    private static QuantizedModel int8(MultiLayerNetwork net, long[] shape) {
        int weightBits = Dnnl.exactInt8Products() ? 8 : 7;
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(32, shape, 4, 4, 97),
                QuantizationOptions.builder().weightBits(weightBits).build());
        return model;
    }

    /** Top-1 of the int8 plan against the fake-quant graph on 512 random inputs. */
    private static void agreesWithFakeQuant(String name, QuantizedModel model, long[] shape) {
        long agree = 0;
        long total = 0;
        double maxDiff = 0;
        for (int b = 0; b < 16; b++) {
            INDArray x = input(shape, 101 + b);
            INDArray int8 = model.outputs(Execution.INT8, x)[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
            agree += int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            total += x.size(0);
            maxDiff = Math.max(maxDiff, int8.sub(fake).amaxNumber().doubleValue());
        }
        assertEquals(Execution.INT8, model.execution(), name + ": int8 unavailable: " + model.int8Unavailable());
        double agreement = agree / (double) total;
        System.out.printf("%s: int8 vs fake-quant top-1 agreement %.2f%% on %d inputs, max |p diff| %.2e%n", name,
                100 * agreement, total, maxDiff);
        assertTrue(agreement >= 0.99, name + ": top-1 agreement " + agreement);
        assertTrue(maxDiff < 0.05, name + ": largest probability difference " + maxDiff);
    }

    private static INDArray input(long[] shape, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, shape);
    }

    private static INDArray channel(INDArray nchw, int c) {
        return nchw.get(NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.all(), NDArrayIndex.all()).dup();
    }

    private static double sqnrDb(INDArray reference, INDArray actual) {
        INDArray r = reference.castTo(DataType.DOUBLE);
        double signal = r.mul(r).sumNumber().doubleValue();
        INDArray e = r.sub(actual.castTo(DataType.DOUBLE));
        double noise = e.mul(e).sumNumber().doubleValue();
        return 10 * Math.log10(signal / Math.max(noise, 1e-30));
    }
}
