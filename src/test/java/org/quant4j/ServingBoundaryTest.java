package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
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
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.QuantizedModel.Execution;

/**
 * What {@code output} does with inputs a server meets (issue 25, items 1 and 2): an image size the network cannot
 * take is refused (it gave a wrong number of rows), an example holding NaN or infinity gets NaN outputs (the int8
 * kernels gave it a confident class; DL4J's own ReLU and max pooling drop a NaN, so it may answer with numbers too), views and F-order arrays give what their dense copies give, and the
 * int8 plans are kept per shape up to {@link QuantizedModel#maxPlans()}.
 */
class ServingBoundaryTest {

    static MultiLayerNetwork lenet;
    static QuantizedModel model;

    /** LeNet's shape: 28x28 images in NCHW, convolutions and pooling, then a flatten into dense layers. */
    @BeforeAll
    static void quantize() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(3).weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(6).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder().kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(8).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder().kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1))
                .build();
        lenet = new MultiLayerNetwork(conf);
        lenet.init();
        model = Quantizer.quantize(lenet, TestNetworks.randomIterator(16, new long[] {16, 1, 28, 28}, 10, 2, 4));
    }

    private static List<Execution> executions() {
        List<Execution> all = new ArrayList<>(List.of(Execution.FAKE_QUANT));
        if (model.execution() == Execution.INT8) {
            all.add(Execution.INT8);
        }
        return all;
    }

    private static INDArray images(long seed, long n, long height, long width) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, n, 1, height, width);
    }

    /** The values of {@code a} in C order. */
    private static float[] flat(INDArray a) {
        return a.dup('c').reshape(-1).toFloatVector();
    }

    @Test
    void anImageSizeTheNetworkCannotTakeIsRefusedNotAnsweredWithOtherRows() {
        for (long[] size : new long[][] {{28, 27}, {20, 20}, {36, 36}}) {
            INDArray x = images(1, 4, size[0], size[1]);
            assertThrows(RuntimeException.class, () -> lenet.output(x), "DL4J refuses it too");
            for (Execution execution : executions()) {
                QuantizationException e = assertThrows(QuantizationException.class,
                        () -> model.outputs(execution, x), execution + " " + java.util.Arrays.toString(size));
                assertTrue(e.getMessage().contains(java.util.Arrays.toString(x.shape()))
                        && e.getMessage().contains("batch of 4"), e.getMessage());
            }
        }
        assertEquals(4, model.output(images(1, 4, 28, 28)).size(0), "the model still serves the right size");
    }

    @Test
    void anImageSmallerThanTheKernelsIsRefusedNotACrash() {
        for (long[] size : new long[][] {{2, 4}, {4, 4}, {9, 9}}) {
            INDArray x = images(5, 3, size[0], size[1]).castTo(DataType.UINT16).dup('f');
            for (Execution execution : executions()) {
                assertThrows(QuantizationException.class, () -> model.outputs(execution, x),
                        execution + " " + java.util.Arrays.toString(size));
            }
        }
    }

    @Test
    void anExampleHoldingNaNOrInfinityGetsNaNOutputs() {
        INDArray clean = images(2, 6, 28, 28);
        INDArray dirty = clean.dup();
        dirty.putScalar(new long[] {1, 0, 3, 4}, Float.NaN);
        dirty.putScalar(new long[] {4, 0, 27, 27}, Float.POSITIVE_INFINITY);
        for (Execution execution : executions()) {
            INDArray expected = model.outputs(execution, clean)[0];
            INDArray out = model.outputs(execution, dirty)[0];
            for (int row = 0; row < 6; row++) {
                INDArray r = out.getRow(row);
                if (row == 1 || row == 4) {
                    assertEquals(10, r.length());
                    for (int c = 0; c < 10; c++) {
                        assertTrue(Double.isNaN(r.getDouble(c)), execution + " row " + row + ": " + r);
                    }
                } else {
                    assertArrayEquals(flat(expected.getRow(row)), flat(r), 1e-6f,
                            execution + ": a finite example keeps its output, row " + row);
                }
            }
        }
    }

    @Test
    void viewsAndFOrderArraysGiveWhatTheirDenseCopiesGive() {
        INDArray big = images(3, 10, 28, 28);
        INDArray subBatch = big.get(NDArrayIndex.interval(3, 7), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.all());
        INDArray fOrder = big.dup('f');
        INDArray transposedView = big.permute(0, 1, 3, 2).permute(0, 1, 3, 2);
        for (Execution execution : executions()) {
            INDArray reference = model.outputs(execution, big)[0];
            assertArrayEquals(flat(model.outputs(execution, subBatch.dup('c'))[0]),
                    flat(model.outputs(execution, subBatch)[0]), 0f, execution + ": sub-batch view");
            assertArrayEquals(flat(reference), flat(model.outputs(execution, fOrder)[0]), 0f,
                    execution + ": F order");
            assertArrayEquals(flat(reference),
                    flat(model.outputs(execution, transposedView)[0]), 0f, execution + ": permuted view");
        }
    }

    @Test
    void int8PlansAreKeptPerShapeUpToTheLimit() {
        QuantizedModel q = Quantizer.quantize(lenet,
                TestNetworks.randomIterator(16, new long[] {16, 1, 28, 28}, 10, 2, 4));
        if (q.execution() != Execution.INT8) {
            return; // no int8 kernels on this machine: nothing to cache
        }
        q.maxPlans(3);
        INDArray all = images(4, 12, 28, 28);
        INDArray reference = q.output(all);
        for (long n = 1; n <= 12; n++) {
            INDArray part = all.get(NDArrayIndex.interval(0, n), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all());
            assertArrayEquals(flat(reference.get(NDArrayIndex.interval(0, n), NDArrayIndex.all())),
                    flat(q.output(part)), 1e-5f, "batch of " + n);
            assertTrue(q.int8Network().cachedPlans() <= 3, "at most 3 plans kept, after batch " + n);
        }
        assertEquals(13, q.int8Network().plansBuilt(),
                "one plan per batch size, and 12's again: it was built first, then evicted by 1, 2, 3 and 4");
        assertEquals(Execution.INT8, q.execution());
        assertTrue(q.int8Fallbacks().isEmpty(), q.int8Fallbacks().toString());
        assertThrows(IllegalArgumentException.class, () -> q.maxPlans(0));
        assertEquals(3, q.maxPlans());
    }
}
