package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.convert.UnsupportedLayerException;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.report.SqnrMeter;
import org.quant4j.runtime.Dnnl;

/**
 * {@link QuantizationOptions#keepUnsupportedLayersFp32}: a sequence classifier (1-D convolution, bidirectional LSTM,
 * global pooling, dense, softmax) trained for one epoch on 512 MNIST images read row by row (28 features over 28 time
 * steps). The converter does not support the test's {@link CustomBidirectionalLstm}: without the option the network is refused
 * naming the layer; with it the LSTM runs in DL4J in fp32 between two quantized parts, and the model's output stays close to DL4J's on
 * test images.
 */
class UnsupportedLayersFp32Test {

    private static MultiLayerNetwork net;
    private static List<DataSet> calibration;
    private static INDArray test;

    @BeforeAll
    static void trainOnMnistRows() {
        Datasets data = Datasets.fromEnvironment();
        LabeledImages train = data.load(Dataset.MNIST, Split.TRAIN, Subset.first(512));
        LabeledImages images = data.load(Dataset.MNIST, Split.TEST, Subset.first(512));
        net = new MultiLayerNetwork(sequenceClassifier(true));
        net.init();
        DataSet all = new DataSet(sequences(train.features()), train.toDataSet().getLabels());
        net.fit(new ListDataSetIterator<>(all.asList(), 32)); // one epoch: enough for outputs that are not uniform
        INDArray first = sequences(images.features()).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 256));
        calibration = new DataSet(first, Nd4j.zeros(DataType.FLOAT, first.size(0), 10)).asList();
        test = sequences(images.features()).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(256, 512));
    }

    /** Images [N, 784] or [N, 1, 28, 28] as sequences [N, 28 features (a row), 28 time steps (the rows' columns)]. */
    private static INDArray sequences(INDArray images) {
        return images.reshape('c', images.size(0), 28, 28).castTo(DataType.FLOAT);
    }

    private static MultiLayerConfiguration sequenceClassifier(boolean convolutionFirst) {
        var list = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER)
                .updater(new Adam(1e-2)).list();
        if (convolutionFirst) {
            list.layer(new Convolution1DLayer.Builder().name("conv").kernelSize(3).nOut(16)
                    .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build());
        }
        return list.layer(CustomBidirectionalLstm.of("memory", 0, 12, Activation.TANH))
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build())
                .layer(new DenseLayer.Builder().name("dense").nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(28, 28))
                .build();
    }

    private static DataSetIterator calibrationData() {
        return new ListDataSetIterator<>(calibration, 32);
    }

    private static QuantizationOptions keepingUnsupported() {
        return QuantizationOptions.builder().keepUnsupportedLayersFp32(true).build();
    }

    @Test
    void withoutTheOptionTheLstmIsRefusedNamingItsIndexNameAndType() {
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> Quantizer.quantize(net, calibrationData()));
        assertTrue(e.getMessage().contains("layer 1 'memory' of type CustomBidirectionalLstm is not supported"),
                e.getMessage());
    }

    @Test
    void anUnsupportedFirstLayerIsNamedToo() {
        MultiLayerNetwork lstmFirst = new MultiLayerNetwork(sequenceClassifier(false));
        lstmFirst.init();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> Quantizer.quantize(lstmFirst, calibrationData()));
        assertTrue(e.getMessage().contains("layer 0 'memory' of type CustomBidirectionalLstm is not supported"),
                e.getMessage());
    }

    @Test
    void withTheOptionTheLstmRunsInFp32AndTheRestIsQuantized() {
        INDArray params = net.params().dup();
        QuantizedModel q = Quantizer.quantize(net, calibrationData(), keepingUnsupported());
        assertEquals(params, net.params(), "the user's network is only read");

        assertEquals(List.of(new QuantizedModel.Fp32Layer(1, "memory", "CustomBidirectionalLstm")), q.fp32Layers());
        assertTrue(q.report().keptFp32Ops().contains("memory"), q.report().toString());
        assertTrue(q.report().quantizedOps().stream().anyMatch(op -> op.startsWith("conv")), q.report().toString());
        assertTrue(q.report().quantizedOps().stream().anyMatch(op -> op.startsWith("dense")), q.report().toString());
        assertTrue(q.report().quantizedOps().stream().anyMatch(op -> op.startsWith("out")), q.report().toString());

        INDArray expected = net.output(test, false);
        INDArray actual = q.output(test);
        assertArrayEquals(expected.shape(), actual.shape());
        SqnrMeter sqnr = new SqnrMeter();
        sqnr.add(expected, actual);
        double agreement = expected.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                / test.size(0);
        System.out.printf("conv -> LSTM (fp32, DL4J) -> dense, W8A8: output SQNR %.2f dB vs DL4J, top-1 agreement"
                + " %.1f%% on %d MNIST test images; %s%n", sqnr.sqnrDb(), 100 * agreement, test.size(0), q.report());
        assertTrue(sqnr.sqnrDb() > 25, "output SQNR " + sqnr.sqnrDb());
        assertTrue(agreement >= 0.97, "top-1 agreement " + agreement);
        if (Dnnl.available()) {
            assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        }

        // The fake-quant graphs give the same classes: both executions run the LSTM in DL4J.
        INDArray simulated = q.outputs(QuantizedModel.Execution.FAKE_QUANT, test)[0];
        double same = simulated.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                / test.size(0);
        assertTrue(same >= 0.99, "int8 vs fake-quant top-1 agreement " + same);
    }

    @Test
    void anUnsupportedFirstLayerRunsInFp32BeforeTheQuantizedPart() {
        MultiLayerNetwork lstmFirst = new MultiLayerNetwork(sequenceClassifier(false));
        lstmFirst.init();
        QuantizedModel q = Quantizer.quantize(lstmFirst, calibrationData(), keepingUnsupported());
        assertEquals(List.of(new QuantizedModel.Fp32Layer(0, "memory", "CustomBidirectionalLstm")), q.fp32Layers());
        INDArray expected = lstmFirst.output(test, false);
        SqnrMeter sqnr = new SqnrMeter();
        sqnr.add(expected, q.output(test));
        assertTrue(sqnr.sqnrDb() > 25, "output SQNR " + sqnr.sqnrDb());
    }

    @Test
    void aModelKeepingAUserLayerInFp32IsNotSavedAndSaysWhy(@TempDir Path dir) {
        // a model file names DL4J's classes only (PartsFileTest saves a DL4J layer kept in fp32)
        QuantizedModel q = Quantizer.quantize(net, calibrationData(), keepingUnsupported());
        File file = dir.resolve("lstm.q4j").toFile();
        QuantizationException e = assertThrows(QuantizationException.class, () -> q.save(file));
        assertTrue(e.getMessage().contains("layer 1 'memory' (CustomBidirectionalLstm)")
                && e.getMessage().contains("cannot save")
                && e.getMessage().contains(CustomBidirectionalLstm.class.getName()),
                e.getMessage());
        assertFalse(file.exists());
        assertEquals(0, dir.toFile().list().length, "nothing written");
    }

    @Test
    void aComputationGraphKeepsItsUnsupportedLayerInFp32Too() {
        ComputationGraph graph = net.toComputationGraph();
        QuantizedModel q = Quantizer.quantize(graph, calibrationData(), keepingUnsupported());
        assertEquals(List.of("CustomBidirectionalLstm"),
                q.fp32Layers().stream().map(QuantizedModel.Fp32Layer::type).toList());
        INDArray expected = graph.outputSingle(false, test.dup());
        INDArray actual = q.output(test);
        SqnrMeter sqnr = new SqnrMeter();
        sqnr.add(expected, actual);
        double agreement = expected.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().doubleValue()
                / test.size(0);
        System.out.printf("ComputationGraph conv -> CustomBidirectionalLstm (fp32, DL4J) -> dense, W8A8: output SQNR"
                + " %.2f dB vs DL4J, top-1 agreement %.1f%% on %d MNIST test images%n", sqnr.sqnrDb(), 100 * agreement, test.size(0));
        assertTrue(sqnr.sqnrDb() > 25, "output SQNR " + sqnr.sqnrDb());
        assertTrue(agreement >= 0.97, "top-1 agreement " + agreement);
        if (Dnnl.available()) {
            assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        }
    }

    @Test
    void keepFp32NamesAreMatchedAcrossTheParts() {
        QuantizedModel q = Quantizer.quantize(net, calibrationData(), QuantizationOptions.builder()
                .keepUnsupportedLayersFp32(true).keepFp32("dense").build());
        assertTrue(q.report().keptFp32Ops().stream().anyMatch(op -> op.startsWith("dense")), q.report().toString());
        QuantizationException e = assertThrows(QuantizationException.class, () -> Quantizer.quantize(net,
                calibrationData(), QuantizationOptions.builder().keepUnsupportedLayersFp32(true).keepFp32("nowhere")
                        .build()));
        assertTrue(e.getMessage().contains("nowhere"), e.getMessage());
    }
}
