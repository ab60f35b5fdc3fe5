package org.quant4j.reference;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The demo's network: a small CNN (conv-BN-ReLU-pool twice, dense, dropout, softmax) trained on Fashion-MNIST with
 * a fixed seed, two epochs, Adam ({@link #EPOCHS}, {@link #BATCH}).
 */
public final class FashionCnn {

    /** Bump when the architecture or training changes, so that a stale cached model is not reused. */
    public static final String VERSION = "v1";
    public static final int EPOCHS = 2;
    public static final int BATCH = 128;
    public static final long SEED = 20261126L;

    private FashionCnn() {
    }

    /** The configuration, seeded. */
    public static MultiLayerConfiguration configuration() {
        return new NeuralNetConfiguration.Builder()
                .seed(SEED).weightInit(WeightInit.RELU).updater(new Adam(2e-3)).dataType(DataType.FLOAT)
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("conv1").nOut(16).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new ActivationLayer.Builder().name("relu1").activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).name("conv2").nOut(32).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().name("bn2").build())
                .layer(new ActivationLayer.Builder().name("relu2").activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool2").kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().name("fc1").nOut(128).activation(Activation.RELU).build())
                .layer(new DropoutLayer.Builder(0.75).name("drop").build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1))
                .build();
    }
}
