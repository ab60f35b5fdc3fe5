package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.ClipRange;
import org.quant4j.range.RangeMethods;
import org.quant4j.quantize.CalibrationStatistics;
import org.quant4j.report.LayerSqnr;

/**
 * A dilated kernel, which the converter spells out undilated with zeros between its taps, is ranged from its taps
 * alone: the same weight ranges, per output channel, as an undilated twin with the same weights, and (nearly) the
 * same layer SQNR. Without the taps, the patent method fits its PDF to a kernel that is 64 % structural zeros
 * (3x3, dilation 2: 16 of 25 values), which looks far more peaked than the trained weights: narrower ranges than the
 * twin's, and clipped large weights.
 */
class DilatedKernelQuantizationTest {

    private static final long[] IMAGE = {32, 3, 16, 16};

    /** conv 3x3 (Same) -> conv 3x3 dilation {@code d} (Same), 16 -> 16 channels -> global average -> softmax. */
    private static MultiLayerNetwork net(int d) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(16).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(3, 3).dilation(d, d).nOut(16).name("dilated")
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder().nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(16, 16, 3)).build());
        net.init();
        return net;
    }

    @ParameterizedTest(name = "{0} weights, W{1}")
    @CsvSource({"gaussian, 4", "laplace, 8", "laplace, 4"})
    void dilatedKernelIsRangedOnItsTapsAsItsUndilatedTwin(String distribution, int bits) {
        MultiLayerNetwork dilated = net(2);
        if (distribution.equals("laplace")) { // trained weights are heavier-tailed than DL4J's Gaussian init
            INDArray w = dilated.getLayer(1).getParam("W");
            Nd4j.getRandom().setSeed(3);
            INDArray u = Nd4j.rand(DataType.FLOAT, w.shape()).subi(0.5);
            w.assign(Transforms.log(Transforms.abs(u).muli(-2).addi(1)).muli(Transforms.sign(u)).muli(-0.05));
        }
        MultiLayerNetwork twin = net(1);
        twin.setParams(dilated.params().dup());
        QuantizationOptions options = QuantizationOptions.builder().rangeMethod("patent").weightBits(bits).build();
        QuantizedModel qd = Quantizer.quantize(dilated, TestNetworks.randomIterator(32, IMAGE, 4, 4, 11), options);
        QuantizedModel qt = Quantizer.quantize(twin, TestNetworks.randomIterator(32, IMAGE, 4, 4, 11), options);
        TensorQuantization wd = weight(qd);
        TensorQuantization wt = weight(qt);
        assertEquals(16, wd.scales().length);
        assertArrayEquals(wt.scales(), wd.scales(), "per-channel weight scales");
        assertArrayEquals(wt.hi(), wd.hi(), 0, "per-channel weight ranges");
        double sd = sqnr(qd);
        double st = sqnr(qt);
        System.out.printf("dilated layer, %s weights, W%d A8 patent: SQNR %.2f dB (undilated twin %.2f dB)%n",
                distribution, bits, sd, st);
        assertTrue(sd > st - 1.5, "dilated " + sd + " dB, twin " + st + " dB");
    }

    /** The report's replayed statistics of the dilated kernel reproduce its ranges (taps only, as the quantizer). */
    @Test
    void replayedStatisticsOfADilatedKernelReproduceItsRanges() {
        MultiLayerNetwork net = net(2);
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(32, IMAGE, 4, 4, 13),
                QuantizationOptions.builder().rangeMethod("patent").weightBits(4).build());
        CalibrationStatistics statistics = CalibrationStatistics.collect(Dl4jConverter.convert(net), q.quantizations(),
                FeatureBatches.of(TestNetworks.randomIterator(32, IMAGE, 4, 4, 13)), q.report().calibrationBatches());
        TensorQuantization t = weight(q);
        ChannelStatistics[] channels = statistics.of(t.tensor());
        assertEquals(16, channels.length);
        for (int c = 0; c < channels.length; c++) {
            assertEquals(3 * 3 * 16, channels[c].count(), "taps of channel " + c);
            ClipRange r = RangeMethods.byName("patent").solve(channels[c], t.grid());
            assertEquals(t.hi()[c], r.hi(), 1e-9 * Math.max(1, Math.abs(r.hi())), "channel " + c);
        }
    }

    private static TensorQuantization weight(QuantizedModel q) {
        return q.quantizations().stream().filter(t -> t.tensor().equals("dilated/W")).findFirst().orElseThrow();
    }

    private static double sqnr(QuantizedModel q) {
        return q.report().layers().stream().filter(l -> l.layer().equals("dilated")).mapToDouble(LayerSqnr::sqnrDb)
                .findFirst().orElseThrow();
    }
}
