package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.preprocessor.CnnToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.report.SqnrMeter;

/**
 * The recurrent layers the converter takes that no other quantization test covers (GravesLSTM, SimpleRnn,
 * Bidirectional in every mode, RnnLossLayer, EmbeddingLayer, FrozenLayerWithBackprop, the RnnToCnn and CnnToRnn
 * preprocessors) through the whole pipeline:
 * every layer's products quantized, the fake-quant output close to DL4J's fp32 output, the int8 plan close to the
 * fake-quant graph.
 */
class RecurrentLayersQuantizationTest {

    private static final int FEATURES = 6;
    private static final int STEPS = 8;

    static Stream<Arguments> networks() {
        return Stream.of(
                Arguments.of("GravesLSTM -> RnnOutputLayer", recurrent(new GravesLSTM.Builder().name("graves").nOut(8)
                        .activation(Activation.TANH).build(), RNNFormat.NCW), 2),
                Arguments.of("SimpleRnn (ReLU) -> RnnOutputLayer, NWC", recurrent(new SimpleRnn.Builder()
                        .name("simple").nOut(8).activation(Activation.RELU).build(), RNNFormat.NWC), 2),
                Arguments.of("Bidirectional ADD", bidirectional(Bidirectional.Mode.ADD), 5),
                Arguments.of("Bidirectional MUL", bidirectional(Bidirectional.Mode.MUL), 5),
                Arguments.of("Bidirectional AVERAGE", bidirectional(Bidirectional.Mode.AVERAGE), 5),
                Arguments.of("Bidirectional CONCAT", bidirectional(Bidirectional.Mode.CONCAT), 5),
                Arguments.of("LSTM -> dense -> RnnLossLayer", rnnLossLayer(), 2),
                Arguments.of("FrozenLayerWithBackprop(LSTM) -> RnnOutputLayer", recurrent(new FrozenLayerWithBackprop(
                        new LSTM.Builder().name("frozen").nOut(8).activation(Activation.TANH).build()), RNNFormat.NCW),
                        2));
    }

    /** The layer, then an RnnOutputLayer of 4 classes per step. */
    private static MultiLayerNetwork recurrent(org.deeplearning4j.nn.conf.layers.Layer layer, RNNFormat format) {
        return init(new NeuralNetConfiguration.Builder().seed(229).list()
                .layer(layer)
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(4)
                        .activation(Activation.SOFTMAX).dataFormat(format).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)));
    }

    /** Bidirectional LSTM, LastTimeStep(Bidirectional SimpleRnn), a classifier. */
    private static MultiLayerNetwork bidirectional(Bidirectional.Mode mode) {
        return init(new NeuralNetConfiguration.Builder().seed(233).list()
                .layer(new Bidirectional(mode, new LSTM.Builder().nOut(6).activation(Activation.TANH).build()))
                .layer(new LastTimeStep(new Bidirectional(mode, new SimpleRnn.Builder().nOut(5)
                        .activation(Activation.TANH).build())))
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, RNNFormat.NCW)));
    }

    /** LSTM, a dense layer per step (through DL4J's preprocessors), an RnnLossLayer's softmax per step. */
    private static MultiLayerNetwork rnnLossLayer() {
        return init(new NeuralNetConfiguration.Builder().seed(239).list()
                .layer(new LSTM.Builder().name("lstm").nOut(8).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().name("dense").nOut(4).activation(Activation.IDENTITY).build())
                .layer(new RnnLossLayer.Builder().activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, RNNFormat.NCW)));
    }

    private static MultiLayerNetwork init(NeuralNetConfiguration.ListBuilder conf) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf.build());
        net.init();
        return net;
    }

    private static ListDataSetIterator<DataSet> batches(MultiLayerNetwork net, long[] shape, int batches, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            INDArray x = Nd4j.randn(DataType.FLOAT, shape);
            data.add(new DataSet(x, net.output(x)));
        }
        return new ListDataSetIterator<>(data, (int) shape[0]);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("networks")
    void recurrentLayerQuantizesAndRunsInt8(String name, MultiLayerNetwork net, int products) {
        boolean nwc = name.endsWith("NWC");
        long[] shape = nwc ? new long[] {16, STEPS, FEATURES} : new long[] {16, FEATURES, STEPS};
        QuantizedModel q = Quantizer.quantize(net, batches(net, shape, 4, 241));
        List<String> ops = q.report().quantizedOps();
        assertEquals(products, ops.size(), name + ": every layer's products quantized, " + ops);
        assertAgrees(name, net, q, batches(net, new long[] {64, shape[1], shape[2]}, 1, 251).next().getFeatures());
    }

    /** A convolution at each time step (DL4J's RnnToCnn preprocessor), back to a sequence (CnnToRnn) for an LSTM. */
    @org.junit.jupiter.api.Test
    void cnnAndRnnPreprocessorsQuantizeAndRunInt8() {
        MultiLayerNetwork net = init(new NeuralNetConfiguration.Builder().seed(269).list()
                .layer(new ConvolutionLayer.Builder(2, 2).name("conv").nIn(2).nOut(3).activation(Activation.RELU)
                        .build())
                .layer(new LSTM.Builder().name("lstm").nIn(3 * 3 * 3).nOut(6).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder().name("out").nIn(6).nOut(3).activation(Activation.SOFTMAX)
                        .build())
                .inputPreProcessor(0, new RnnToCnnPreProcessor(4, 4, 2))
                .inputPreProcessor(1, new CnnToRnnPreProcessor(3, 3, 3)));
        long[] shape = {16, 2 * 4 * 4, STEPS};
        QuantizedModel q = Quantizer.quantize(net, batches(net, shape, 4, 271));
        assertEquals(3, q.report().quantizedOps().size(), q.report().quantizedOps().toString());
        assertAgrees("RnnToCnn, CnnToRnn", net, q, batches(net, new long[] {64, shape[1], STEPS}, 1, 277).next()
                .getFeatures());
    }

    /** EmbeddingLayer on class indices [N, 1]: its table stored int8 per row, then a dense classifier. */
    @org.junit.jupiter.api.Test
    void embeddingLayerQuantizesAndRunsInt8() {
        MultiLayerNetwork net = init(new NeuralNetConfiguration.Builder().seed(257).list()
                .layer(new EmbeddingLayer.Builder().name("embedding").nIn(40).nOut(8).activation(Activation.TANH)
                        .build())
                .layer(new OutputLayer.Builder().name("out").nIn(8).nOut(4).activation(Activation.SOFTMAX).build()));
        java.util.Random random = new java.util.Random(263);
        List<DataSet> data = new ArrayList<>();
        for (int b = 0; b < 5; b++) {
            float[][] indices = new float[40][1];
            for (float[] row : indices) {
                row[0] = random.nextInt(40);
            }
            INDArray x = Nd4j.createFromArray(indices);
            data.add(new DataSet(x, net.output(x)));
        }
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(data.subList(0, 4), 40));
        assertEquals(DataType.INT8, q.graph().getVariable("embedding/W:q").dataType(), "the table is not int8");
        assertTrue(q.report().quantizedOps().contains("out/preact"), q.report().quantizedOps().toString());
        assertAgrees("EmbeddingLayer", net, q, data.get(4).getFeatures());
    }

    private static void assertAgrees(String name, MultiLayerNetwork net, QuantizedModel q, INDArray x) {
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), name + ": " + q.int8Unavailable());
        INDArray expected = net.output(x);
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        SqnrMeter m = new SqnrMeter();
        m.add(expected, fakeQuant);
        assertTrue(m.sqnrDb() > 25 && m.sqnrDb() < 200, name + ": W8A8 output SQNR " + m.sqnrDb() + " dB");
        INDArray int8 = q.output(x);
        double diff = fakeQuant.sub(int8).amaxNumber().doubleValue();
        // a recurrent hidden state's levels are set per call: a level at a rounding boundary may round the other way
        assertTrue(diff < 3e-3, name + ": int8 plan far from the fake-quant graph: " + diff);
        System.out.printf("%s: quantized ops %s, output SQNR %.1f dB, max |int8 - fake-quant| %.1e; %s%n", name,
                q.report().quantizedOps(), m.sqnrDb(), diff, q.int8Network().summary(x.shape()));
    }
}
