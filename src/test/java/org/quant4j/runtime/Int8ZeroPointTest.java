package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.ZeroPoints;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.graph.TensorQuantization;

/**
 * Activation zero points in the int8 plan against the fake-quant graph, on real images: a CNN whose two-sided
 * activations (tanh, leaky ReLU, identity) feed padded convolutions, an unpadded one and dense layers, trained
 * briefly on MNIST and quantized W8A8 with a zero point at every two-sided point, per tensor and per channel. Per
 * tensor, every convolution and dense layer runs int8 (the padded ones with oneDNN's source zero point, the others
 * with the zero points compensated in the bias); per channel, the padded convolutions reading zero points run as fp32
 * islands and the rest int8. Either way the plan's levels equal the fake-quant graph's from the same inputs (up to
 * one step, by float rounding) and the predictions agree.
 */
class Int8ZeroPointTest {

    private static final int IMAGES = 500;
    private static Datasets data;
    private static MultiLayerNetwork net;

    @BeforeAll
    static void train() {
        data = Datasets.fromEnvironment();
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(7).weightInit(WeightInit.XAVIER).updater(new Adam(3e-3)).dataType(DataType.FLOAT)
                .convolutionMode(ConvolutionMode.Same).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).activation(Activation.TANH).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(12).activation(Activation.LEAKYRELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .build())
                .layer(new ConvolutionLayer.Builder(1, 1).nOut(12).activation(Activation.IDENTITY).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).convolutionMode(ConvolutionMode.Truncate)
                        .activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(24).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        net = new MultiLayerNetwork(conf);
        net.init();
        net.fit(data.iterator(Dataset.MNIST, Split.TRAIN, Subset.first(384), 64));
    }

    private static QuantizedModel quantize(Granularity granularity) {
        int weightBits = Dnnl.exactInt8Products() ? 8 : 7;
        DataSetIterator calibration = data.iterator(Dataset.MNIST, Split.TRAIN, Subset.random(256, 3L), 64);
        return Quantizer.quantize(net, calibration, QuantizationOptions.builder().weightBits(weightBits)
                .activationGranularity(granularity).activationZeroPoints(ZeroPoints.ON).build());
    }

    private static String check(Granularity granularity) {
        QuantizedModel model = quantize(granularity);
        List<TensorQuantization> withZeroPoints = model.quantizations().stream()
                .filter(TensorQuantization::hasZeroPoints).toList();
        // tanh, leaky ReLU (its max-pooled value), the 1x1 convolution's identity, tanh, the dense layer's tanh
        assertEquals(5, withZeroPoints.size(), "points with zero points: " + withZeroPoints);
        assertTrue(withZeroPoints.stream().allMatch(t -> !t.grid().signed()), withZeroPoints.toString());
        assertTrue(withZeroPoints.stream().anyMatch(t -> t.zeroPoint(0) > 0), "all zero points 0");
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        DataSetIterator test = data.iterator(Dataset.MNIST, Split.TEST, Subset.first(IMAGES), 250);
        long agree = 0;
        Int8GraphTest.Levels levels = null;
        while (test.hasNext()) {
            DataSet batch = test.next();
            INDArray x = batch.getFeatures();
            INDArray int8 = model.outputs(Execution.INT8, x)[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
            agree += int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            if (levels == null) {
                levels = Int8GraphTest.levels(model, x);
            }
        }
        String summary = model.int8Network().summary(new long[] {1, 784});
        System.out.printf("zero points %s (%s): agreement %d of %d; levels (%d values): %d differ end to end (by at"
                + " most %d), %d from the same inputs (by at most %d)%n", granularity, summary, agree, IMAGES,
                levels.count(), levels.off(), levels.max(), levels.localOff(), levels.localMax());
        assertTrue(agree >= IMAGES - 1, "top-1 agreement " + agree + " of " + IMAGES);
        assertTrue(levels.localMax() <= 1, "from the same inputs, levels differ by up to " + levels.localMax());
        assertTrue(levels.localOff() <= levels.count() / 10_000, levels.localOff() + " of " + levels.count()
                + " levels differ from the same inputs");
        return summary;
    }

    @Test
    void perTensorZeroPointsRunEveryKernelInt8() {
        String summary = check(Granularity.PER_TENSOR);
        assertTrue(summary.startsWith("6 int8 kernels"), summary);
        assertTrue(!summary.contains("conv2d="), "a convolution as an fp32 island: " + summary);
    }

    @Test
    void perChannelZeroPointsMatchTheGraphToo() {
        String summary = check(Granularity.PER_CHANNEL);
        // conv 2 (padded, reading tanh's per-channel zero points) is an island; conv 3 reads the max-pooled leaky
        // ReLU unpadded (1x1), conv 4 unpadded (truncate), the dense layers compensated in the bias
        assertTrue(summary.startsWith("5 int8 kernels"), summary);
    }
}
