package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;

/**
 * An LSTM sequence classifier on MNIST images read row by row (28 steps of 28 pixels, NWC), trained briefly here,
 * then quantized W8A8 with the default options on 512 training images: the top-1 accuracy of fp32 DL4J, of the
 * fake-quant graph and of the int8 plan on the 10,000 test images. Issue #20 asks for a drop of at most 0.3 points
 * and for the int8 runtime to agree with the fake-quant graph on at least 99.9 % of the test inputs; the same
 * network quantized dynamically ({@link Quantizer#quantizeDynamic}, no calibration data) likewise.
 */
@Tag("slow")
class LstmMnistAccuracyTest {

    private static final int BATCH = 1000;

    /** Images [N, 784] as sequences [N, 28 steps (rows), 28 features (a row's pixels)]. */
    private static INDArray rows(INDArray images) {
        return images.reshape('c', images.size(0), 28, 28).castTo(DataType.FLOAT);
    }

    @Test
    void w8a8LstmLosesAtMostAThirdOfAPointAndInt8AgreesWithFakeQuant() {
        Datasets data = Datasets.fromEnvironment();
        LabeledImages train = data.load(Dataset.MNIST, Split.TRAIN, Subset.first(6_000));
        LabeledImages test = data.load(Dataset.MNIST, Split.TEST, Subset.all());
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(20)
                .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).updater(new Adam(1e-2)).list()
                .layer(new LastTimeStep(new LSTM.Builder().name("lstm").nOut(32).activation(Activation.TANH)
                        .dataFormat(RNNFormat.NWC).build()))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(28, 28, RNNFormat.NWC)).build());
        net.init();
        DataSet trainSet = new DataSet(rows(train.features()), train.labels());
        long start = System.nanoTime();
        net.fit(new ListDataSetIterator<>(trainSet.asList(), 32)); // one epoch

        long trainSeconds = (System.nanoTime() - start) / 1_000_000_000L;

        DataSet calibration = new DataSet(trainSet.getFeatures().get(NDArrayIndex.interval(0, 512)),
                train.labels().get(NDArrayIndex.interval(0, 512)));
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(calibration.asList(), 64));
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());

        INDArray x = rows(test.features());
        INDArray labels = test.labels().argMax(1);
        int n = (int) x.size(0);
        QuantizedModel d = Quantizer.quantizeDynamic(net, 28, QuantizationOptions.defaults());
        assertEquals(QuantizedModel.Execution.INT8, d.execution(), d.int8Unavailable());
        int fp32 = 0;
        int fakeQuant = 0;
        int int8 = 0;
        int agree = 0;
        int dynamicFakeQuant = 0;
        int dynamicInt8 = 0;
        int dynamicAgree = 0;
        for (int from = 0; from < n; from += BATCH) {
            INDArray batch = x.get(NDArrayIndex.interval(from, Math.min(n, from + BATCH)));
            INDArray truth = labels.get(NDArrayIndex.interval(from, Math.min(n, from + BATCH)));
            INDArray simulated = q.outputs(QuantizedModel.Execution.FAKE_QUANT, batch)[0].argMax(1);
            INDArray integer = q.output(batch).argMax(1);
            fp32 += truth.eq(net.output(batch, false).argMax(1)).castTo(DataType.INT32).sumNumber().intValue();
            fakeQuant += truth.eq(simulated).castTo(DataType.INT32).sumNumber().intValue();
            int8 += truth.eq(integer).castTo(DataType.INT32).sumNumber().intValue();
            agree += simulated.eq(integer).castTo(DataType.INT32).sumNumber().intValue();
            INDArray dynamicSimulated = d.outputs(QuantizedModel.Execution.FAKE_QUANT, batch)[0].argMax(1);
            INDArray dynamicInteger = d.output(batch).argMax(1);
            dynamicFakeQuant += truth.eq(dynamicSimulated).castTo(DataType.INT32).sumNumber().intValue();
            dynamicInt8 += truth.eq(dynamicInteger).castTo(DataType.INT32).sumNumber().intValue();
            dynamicAgree += dynamicSimulated.eq(dynamicInteger).castTo(DataType.INT32).sumNumber().intValue();
        }
        double fp32Accuracy = 100.0 * fp32 / n;
        double fakeQuantAccuracy = 100.0 * fakeQuant / n;
        double int8Accuracy = 100.0 * int8 / n;
        double agreement = 100.0 * agree / n;
        System.out.printf("LSTM on MNIST rows (trained %d s): top-1 fp32 %.2f %%, W8A8 fake-quant %.2f %%, int8 plan"
                + " %.2f %%; int8 agrees with fake-quant on %.2f %% of %d test images%n%s%n", trainSeconds,
                fp32Accuracy, fakeQuantAccuracy, int8Accuracy, agreement, n,
                q.int8Network().summary(new long[] {BATCH, 28, 28}));
        // One epoch on 6,000 images gave 78.6 % (2-core VM): far from a good LSTM, enough to measure the drop on.
        assertTrue(fp32Accuracy > 70, "the LSTM did not learn: fp32 top-1 " + fp32Accuracy);
        assertTrue(fp32Accuracy - fakeQuantAccuracy <= 0.3, "W8A8 drop " + (fp32Accuracy - fakeQuantAccuracy));
        assertTrue(fp32Accuracy - int8Accuracy <= 0.3, "int8 drop " + (fp32Accuracy - int8Accuracy));
        assertTrue(agreement >= 99.9, "int8 agrees with fake-quant on " + agreement + " %");

        double dynamicAccuracy = 100.0 * dynamicFakeQuant / n;
        double dynamicInt8Accuracy = 100.0 * dynamicInt8 / n;
        double dynamicAgreement = 100.0 * dynamicAgree / n;
        System.out.printf("dynamic (no calibration data): top-1 W8A8 fake-quant %.2f %%, int8 plan %.2f %%; int8"
                + " agrees with fake-quant on %.2f %%%n%s%n", dynamicAccuracy, dynamicInt8Accuracy, dynamicAgreement,
                d.int8Network().summary(new long[] {BATCH, 28, 28}));
        assertTrue(fp32Accuracy - dynamicAccuracy <= 0.3, "dynamic W8A8 drop " + (fp32Accuracy - dynamicAccuracy));
        assertTrue(fp32Accuracy - dynamicInt8Accuracy <= 0.3, "dynamic int8 drop "
                + (fp32Accuracy - dynamicInt8Accuracy));
        assertTrue(dynamicAgreement >= 99.9, "dynamic int8 agrees with fake-quant on " + dynamicAgreement + " %");
    }
}
