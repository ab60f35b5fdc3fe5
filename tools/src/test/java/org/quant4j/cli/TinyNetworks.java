package org.quant4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Tiny untrained networks for 1x28x28 inputs, saved as DL4J model files. */
final class TinyNetworks {

    private TinyNetworks() {
    }

    static MultiLayerNetwork cnn() {
        return cnn("", 10);
    }

    /** {@link #cnn()} with {@code prefix} before each layer name and {@code classes} outputs. */
    static MultiLayerNetwork cnn(String prefix, int classes) {
        return cnn(prefix, classes, new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2));
    }

    /** {@link #cnn()} whose layer "pool1" is a 2x2 stride 2 convolution: the same shapes, another layer type. */
    static MultiLayerNetwork cnnWithConvolutionAsPool() {
        return cnn("", 10, new ConvolutionLayer.Builder(2, 2).nOut(4).stride(2, 2).activation(Activation.IDENTITY));
    }

    private static MultiLayerNetwork cnn(String prefix, int classes, org.deeplearning4j.nn.conf.layers.Layer.Builder<?> pool) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).name(prefix + "conv1").nOut(4).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build())
                .layer(pool.name(prefix + "pool1").build())
                .layer(new DenseLayer.Builder().name(prefix + "fc1").nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name(prefix + "out").nOut(classes)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1)).build());
        net.init();
        return net;
    }

    /** {@link #cnn()} with every parameter NaN: its outputs are NaN. */
    static MultiLayerNetwork cnnWithNaNWeights() {
        MultiLayerNetwork net = cnn();
        net.params().assign(Double.NaN);
        return net;
    }

    /** {@link #cnn()} with every parameter 1e20: finite weights whose activations overflow float to infinity. */
    static MultiLayerNetwork cnnWithHugeWeights() {
        MultiLayerNetwork net = cnn();
        net.params().assign(1e20);
        return net;
    }

    /** A dense network on flat 784-value inputs (its input shape [-1, 784]). */
    static MultiLayerNetwork mlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(5)
                .weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().name("fc1").nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(784)).build());
        net.init();
        return net;
    }

    /**
     * A network on flat inputs of {@code side} x {@code side} values (one-channel images, reshaped by DL4J's
     * preprocessor): a 1x1 convolution, global average pooling and 2 outputs, so that its quantization points have
     * one channel each and it calibrates quickly however wide its input.
     */
    static MultiLayerNetwork wideInput(int side) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(6)
                .weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(1, 1).name("conv").nOut(1).activation(Activation.RELU).build())
                .layer(new org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool")
                        .build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(side, side, 1)).build());
        net.init();
        return net;
    }

    /** {@link #cnn()}'s layers, names and types as a ComputationGraph on {@code channels}-channel 28x28 images. */
    static ComputationGraph cnnGraph(int channels) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).weightInit(WeightInit.RELU)
                .dataType(DataType.FLOAT).graphBuilder().addInputs("in")
                .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).nOut(4).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build(), "in")
                .addLayer("pool1", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                        "conv1")
                .addLayer("fc1", new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build(), "pool1")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "fc1")
                .setOutputs("out").setInputTypes(InputType.convolutional(28, 28, channels)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    /** A ComputationGraph of two flat inputs, merged. */
    static ComputationGraph twoInputGraph() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(4).weightInit(WeightInit.RELU)
                .dataType(DataType.FLOAT).graphBuilder().addInputs("a", "b")
                .addLayer("fa", new DenseLayer.Builder().nOut(4).activation(Activation.RELU).build(), "a")
                .addLayer("fb", new DenseLayer.Builder().nOut(4).activation(Activation.RELU).build(), "b")
                .addVertex("merge", new org.deeplearning4j.nn.conf.graph.MergeVertex(), "fa", "fb")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "merge")
                .setOutputs("out").setInputTypes(InputType.feedForward(784), InputType.feedForward(784)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    static ComputationGraph graph() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(4).weightInit(WeightInit.RELU)
                .dataType(DataType.FLOAT).graphBuilder().addInputs("in")
                .addLayer("fc1", new DenseLayer.Builder().nOut(12).activation(Activation.RELU).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "fc1")
                .setOutputs("out").setInputTypes(InputType.convolutionalFlat(28, 28, 1)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    static Path save(org.deeplearning4j.nn.api.Model net, Path file) throws IOException {
        ModelSerializer.writeModel(net, file.toFile(), false);
        return file;
    }
}
