package org.quant4j;

import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.report.SqnrMeter;

/**
 * Properties over randomly generated small MultiLayerNetworks (stacks of convolution, pooling, BatchNorm and
 * activation layers, then optionally a dense layer, then a softmax output; random sizes and activations):
 * conversion equals DL4J, quantization does not fail, integer and fake-quant execution agree on top-1, and the
 * W8A8 output SQNR stays above {@link #SQNR_FLOOR_DB}. The seed is fixed so that builds are reproducible.
 */
class RandomNetworkPropertiesTest {

    static final double SQNR_FLOOR_DB = 20;
    static final List<Activation> ACTIVATIONS = List.of(Activation.IDENTITY, Activation.RELU, Activation.TANH,
            Activation.LEAKYRELU, Activation.SIGMOID, Activation.ELU);

    enum Kind { CONV, POOL, BATCH_NORM, ACTIVATION }

    record Case(MultiLayerNetwork net, INDArray calibration, INDArray test) {
    }

    /** Integer-friendly networks (ReLU or identity, max pooling) exercise the int8 runtime; others its fallback. */
    static Case build(List<Kind> kinds, int channels, int size, boolean dense, boolean int8Friendly, long seed) {
        Random r = new Random(seed);
        List<Activation> ACTIVATIONS = int8Friendly ? List.of(Activation.RELU, Activation.IDENTITY)
                : RandomNetworkPropertiesTest.ACTIVATIONS;
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().seed(seed)
                .weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT).list();
        int h = size;
        int i = 0;
        b.layer(new ConvolutionLayer.Builder(3, 3).name("l" + i++).nOut(2 + r.nextInt(5))
                .convolutionMode(ConvolutionMode.Same).activation(ACTIVATIONS.get(r.nextInt(ACTIVATIONS.size())))
                .build());
        for (Kind k : kinds) {
            switch (k) {
                case CONV -> b.layer(new ConvolutionLayer.Builder(1 + r.nextInt(3), 1 + r.nextInt(3)).name("l" + i++)
                        .nOut(2 + r.nextInt(6)).convolutionMode(ConvolutionMode.Same)
                        .activation(ACTIVATIONS.get(r.nextInt(ACTIVATIONS.size()))).build());
                case POOL -> {
                    if (h >= 4) {
                        b.layer(new SubsamplingLayer.Builder(int8Friendly || r.nextBoolean() ? PoolingType.MAX : PoolingType.AVG)
                                .name("l" + i++).kernelSize(2, 2).stride(2, 2).build());
                        h /= 2;
                    }
                }
                case BATCH_NORM -> b.layer(new BatchNormalization.Builder().name("l" + i++).build());
                case ACTIVATION -> b.layer(new ActivationLayer.Builder().name("l" + i++)
                        .activation(ACTIVATIONS.get(r.nextInt(ACTIVATIONS.size()))).build());
            }
        }
        if (dense) {
            b.layer(new DenseLayer.Builder().name("l" + i++).nOut(3 + r.nextInt(10))
                    .activation(ACTIVATIONS.get(r.nextInt(ACTIVATIONS.size()))).build());
        }
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(2 + r.nextInt(4))
                .activation(Activation.SOFTMAX).build());
        MultiLayerNetwork net = new MultiLayerNetwork(b.setInputType(InputType.convolutional(size, size, channels))
                .build());
        net.init();
        // BatchNorm statistics away from their initial (0, 1), so that folding has something to fold.
        for (int l = 0; l < net.getnLayers(); l++) {
            if (net.getLayer(l).conf().getLayer() instanceof BatchNormalization) {
                Map<String, INDArray> p = net.getLayer(l).paramTable();
                for (Map.Entry<String, INDArray> e : p.entrySet()) {
                    INDArray v = e.getValue();
                    for (long j = 0; j < v.length(); j++) {
                        v.putScalar(j, e.getKey().equals("mean") || e.getKey().equals("beta")
                                ? r.nextGaussian() * 0.3 : 0.5 + r.nextDouble());
                    }
                }
            }
        }
        Nd4j.getRandom().setSeed(seed);
        return new Case(net, Nd4j.rand(DataType.FLOAT, 16, channels, size, size),
                Nd4j.rand(DataType.FLOAT, 16, channels, size, size));
    }

    @Property(tries = 20, seed = "20261126")
    void randomNetworksConvertQuantizeAndAgree(@ForAll @Size(max = 4) List<Kind> kinds,
            @ForAll @IntRange(min = 1, max = 3) int channels, @ForAll @IntRange(min = 4, max = 10) int size,
            @ForAll boolean dense, @ForAll boolean int8Friendly, @ForAll long seed) {
        Case c = build(kinds, channels, size, dense, int8Friendly, seed);
        String what = c.net().getLayerWiseConfigurations().toJson().length() + "-char config, layers "
                + kinds + (int8Friendly ? " (int8-friendly)" : "") + ", " + channels + "x" + size + "x" + size + (dense ? ", dense" : "") + ", seed " + seed;

        // Conversion equals DL4J within 1e-5 relative, per output element.
        INDArray expected = c.net().output(c.test());
        ModelGraph g = Dl4jConverter.convert(c.net());
        INDArray converted = GraphExecution.output(g.graph(), Map.of(g.inputs().get(0).name(), c.test()),
                g.outputs()).get(g.outputs().get(0));
        INDArray diff = converted.sub(expected);
        INDArray tolerance = org.nd4j.linalg.ops.transforms.Transforms.abs(expected).muli(1e-5).addi(1e-7);
        double excess = org.nd4j.linalg.ops.transforms.Transforms.abs(diff).subi(tolerance).maxNumber().doubleValue();
        if (excess > 0) {
            throw new AssertionError("conversion differs from DL4J by more than 1e-5 relative: " + what);
        }

        // Quantization does not fail; W8A8 output SQNR above the floor.
        QuantizedModel q = Quantizer.quantize(c.net(), new org.deeplearning4j.datasets.iterator.ExistingDataSetIterator(
                List.of(new org.nd4j.linalg.dataset.DataSet(c.calibration(), null))));
        INDArray fake = q.outputs(QuantizedModel.Execution.FAKE_QUANT, c.test())[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fake);
        if (!(m.sqnrDb() > SQNR_FLOOR_DB)) {
            throw new AssertionError("W8A8 output SQNR " + m.sqnrDb() + " dB <= " + SQNR_FLOOR_DB + ": " + what);
        }

        // Integer execution, where this network has it, agrees with the fake-quant graph on top-1 (except near ties).
        net.jqwik.api.statistics.Statistics.label("W8A8 output SQNR").collect(
                m.sqnrDb() < 30 ? "20-30 dB" : m.sqnrDb() < 40 ? "30-40 dB" : ">= 40 dB");
        INDArray int8;
        try {
            int8 = q.outputs(QuantizedModel.Execution.INT8, c.test())[0];
        } catch (QuantizationException e) {
            net.jqwik.api.statistics.Statistics.label("execution").collect("fake-quant only");
            return;
        }
        net.jqwik.api.statistics.Statistics.label("execution").collect("int8 checked");
        INDArray top = Nd4j.argMax(fake, 1);
        INDArray topInt8 = Nd4j.argMax(int8, 1);
        for (int s = 0; s < fake.size(0); s++) {
            INDArray row = Nd4j.sort(fake.getRow(s).dup(), false);
            boolean tie = row.getDouble(0) - row.getDouble(1) < 1e-3;
            if (!tie && top.getLong(s) != topInt8.getLong(s)) {
                throw new AssertionError("int8 and fake-quant top-1 differ on sample " + s + ": " + what);
            }
        }
    }
}
