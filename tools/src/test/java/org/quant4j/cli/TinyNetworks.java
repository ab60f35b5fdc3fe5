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
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("conv1").nOut(4).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().name("fc1").nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1)).build());
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
