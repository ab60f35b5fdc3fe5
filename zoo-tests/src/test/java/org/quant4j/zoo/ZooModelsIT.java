package org.quant4j.zoo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.model.LeNet;
import org.deeplearning4j.zoo.model.SimpleCNN;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.report.SqnrMeter;

/**
 * DL4J zoo models (random weights, fixed seed) convert with fp32 outputs matching DL4J and quantize with high output
 * SQNR. LeNet is calibrated and measured on real MNIST images.
 */
class ZooModelsIT {

    private static double relativeError(INDArray expected, INDArray actual) {
        return expected.sub(actual).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
    }

    private static void check(MultiLayerNetwork net, INDArray sample, DataSetIterator calibration) {
        ModelGraph graph = Dl4jConverter.convert(net);
        INDArray expected = net.output(sample, false);
        INDArray actual = GraphExecution.output(graph.graph(), Map.of("input", sample), graph.outputs())
                .get(graph.outputs().get(0));
        double err = relativeError(expected, actual);
        assertTrue(err < 1e-4, "fp32 SameDiff output differs from DL4J by " + err);

        QuantizedModel q = Quantizer.quantize(net, calibration);
        SqnrMeter sqnr = new SqnrMeter();
        sqnr.add(expected, q.output(sample));
        System.out.printf("%s: fp32 match %.2e, W8A8 output SQNR %.2f dB%n%s%n", net.getClass().getSimpleName(), err,
                sqnr.sqnrDb(), q.report().sqnrTable());
        assertTrue(sqnr.sqnrDb() > 25, "W8A8 output SQNR " + sqnr.sqnrDb() + " dB");
    }

    @Test
    void leNetOnMnist() {
        ZooModel<?> zoo = LeNet.builder().numClasses(10).seed(123L).build();
        MultiLayerNetwork net = (MultiLayerNetwork) zoo.init();
        Datasets data = Datasets.fromEnvironment();
        INDArray test = data.load(Dataset.MNIST, Split.TEST, Subset.first(64)).features();
        check(net, test, data.iterator(Dataset.MNIST, Split.TRAIN, Subset.random(256, 1L), 64));
    }

    @Test
    void simpleCnnOnSeededImages() {
        ZooModel<?> zoo = SimpleCNN.builder().numClasses(10).seed(123L).build();
        MultiLayerNetwork net = (MultiLayerNetwork) zoo.init();
        long[] shape = {16, 3, 48, 48};
        Nd4j.getRandom().setSeed(5);
        INDArray sample = Nd4j.rand(DataType.FLOAT, shape);
        java.util.List<org.nd4j.linalg.dataset.DataSet> batches = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            batches.add(new org.nd4j.linalg.dataset.DataSet(Nd4j.rand(DataType.FLOAT, shape),
                    Nd4j.zeros(DataType.FLOAT, 16, 10)));
        }
        check(net, sample, new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(batches, 1));
    }
}
