package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.FloatPointer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;

/**
 * The padding and softmax steps that replaced fp32 islands: oneDNN's softmax of each row against ND4J's within
 * tens of units in the last place, and a network with zero paddings (an uneven one at the input, one between two
 * convolutions) whose int8 plan runs them as row copies, not islands, and computes what the fake-quant graph does.
 */
class Int8PadAndSoftmaxTest {

    @Test
    void rowSoftmaxAgreesWithNd4j() {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.FLOAT, 64, 1000).muli(8);
        float[] want = Nd4j.nn.softmax(x, 1).data().asFloat();
        float[] got = new float[want.length];
        try (Elementwise softmax = Elementwise.softmaxRows(64, 1000);
                FloatPointer src = new FloatPointer(x.data().asFloat()); FloatPointer dst = new FloatPointer(x.length())) {
            softmax.execute(src, null, dst);
            dst.get(got);
        }
        int max = 0;
        for (int i = 0; i < got.length; i++) {
            max = Math.max(max, Math.abs(Float.floatToIntBits(got[i]) - Float.floatToIntBits(want[i])));
        }
        // seen: 25 ulp (relative 1.5e-6) on values spread over e^+-30
        assertTrue(max <= 64, "softmax differs from ND4J's by " + max + " ulp");
    }

    private static MultiLayerNetwork paddedCnn() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).weightInit(WeightInit.RELU)
                .dataType(DataType.FLOAT).list()
                .layer(new ZeroPaddingLayer.Builder(2, 1, 3, 0).name("pad_in").build())
                .layer(new ConvolutionLayer.Builder(3, 3).name("c1").nOut(8).activation(Activation.RELU).build())
                .layer(new ZeroPaddingLayer.Builder(1, 1).name("pad_mid").build())
                .layer(new ConvolutionLayer.Builder(3, 3).name("c2").stride(2, 2).nOut(8)
                        .activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    @Test
    void paddingsRunAsCopiesAndTheSoftmaxAsAPrimitive() {
        MultiLayerNetwork net = paddedCnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, new long[] {16, 1, 28, 28}, 10, 4,
                7));
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 1, 28, 28);
        INDArray fake = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        INDArray int8 = q.outputs(QuantizedModel.Execution.INT8, x)[0];
        String summary = q.int8Network().summary(x.shape());
        assertTrue(summary.endsWith(" 0 fp32 island ops"), summary);
        assertTrue(q.int8Network().profile(1, x).stream().anyMatch(s -> s.label().startsWith("pad ")),
                "no pad step");
        assertEquals(1.0, fake.argMax(1).eq(int8.argMax(1)).castTo(DataType.FLOAT).meanNumber().doubleValue(), 1e-9,
                "top-1 agreement");
        assertTrue(fake.sub(int8).amaxNumber().doubleValue() < 1e-3, "int8 differs by "
                + fake.sub(int8).amaxNumber());
    }
}
