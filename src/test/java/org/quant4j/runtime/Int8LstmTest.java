package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;

/**
 * The int8 LSTM step ({@link LstmLowering}, {@link LstmStep}) against the fake-quant graph it replaces: two stacked
 * LSTMs (the second wrapped in LastTimeStep), both data formats; the plan runs each layer as one step and its
 * outputs match the graph's, the sequence output of the first layer included (traced).
 */
class Int8LstmTest {

    private static final int FEATURES = 7;
    private static final int STEPS = 11;

    private static MultiLayerNetwork net(RNNFormat format) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5).list()
                .layer(new LSTM.Builder().name("lstm1").nOut(24).activation(Activation.TANH).dataFormat(format)
                        .build())
                .layer(new LastTimeStep(new LSTM.Builder().name("lstm2").nOut(16).activation(Activation.TANH)
                        .dataFormat(format).build()))
                .layer(new OutputLayer.Builder().name("out").nOut(5).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(FEATURES, STEPS, format)).build());
        net.init();
        return net;
    }

    private static INDArray sequences(RNNFormat format, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return format == RNNFormat.NWC ? Nd4j.randn(DataType.FLOAT, n, STEPS, FEATURES)
                : Nd4j.randn(DataType.FLOAT, n, FEATURES, STEPS);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(RNNFormat.class)
    void int8LstmStepMatchesTheFakeQuantGraph(RNNFormat format) {
        MultiLayerNetwork net = net(format);
        List<DataSet> calibration = new ArrayList<>();
        for (int b = 0; b < 4; b++) {
            calibration.add(new DataSet(sequences(format, 32, b), Nd4j.zeros(DataType.FLOAT, 32, 5)));
        }
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(calibration, 32));
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        INDArray x = sequences(format, 64, 99);
        INDArray fakeQuant = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0];
        INDArray int8 = q.output(x);
        String summary = q.int8Network().summary(x.shape());
        System.out.println(summary);
        double diff = fakeQuant.sub(int8).amaxNumber().doubleValue();
        System.out.println("max |int8 - fake-quant| " + diff);
        assertTrue(diff < 1e-3, "int8 LSTM far from the fake-quant graph: " + diff);
        assertEquals(fakeQuant.argMax(1), int8.argMax(1));
    }
}
