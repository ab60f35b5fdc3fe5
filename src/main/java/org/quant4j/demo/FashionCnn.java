package org.quant4j.demo;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.quant4j.cli.Progress;
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
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;

/**
 * The demo's network: a small CNN (conv-BN-ReLU-pool twice, dense, dropout, softmax) trained on Fashion-MNIST with
 * a fixed seed, two epochs, Adam. Trained once and kept as a DL4J model file in the model cache; later runs reuse it.
 */
public final class FashionCnn {

    /** Bump when the architecture or training changes, so that a stale cached model is not reused. */
    static final String VERSION = "v1";
    static final int EPOCHS = 2;
    static final int BATCH = 128;
    static final long SEED = 20261126L;

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

    /** Where the trained model is kept. */
    public static Path cachedModel() {
        return Datasets.defaultRoot().getParent().resolve("models").resolve("fashion-cnn-" + VERSION + ".zip");
    }

    /**
     * The trained network: loaded from {@code file} when it exists, otherwise trained (and saved there, atomically).
     */
    public static MultiLayerNetwork trainedOrCached(Path file, Datasets data, PrintStream log, Progress progress)
            throws IOException {
        if (Files.isRegularFile(file)) {
            log.println("Using the network trained before: " + file);
            return ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(configuration());
        net.init();
        DataSetIterator train = data.iterator(Dataset.FASHION_MNIST, Split.TRAIN, BATCH);
        int batches = (60_000 + BATCH - 1) / BATCH;
        for (int epoch = 1; epoch <= EPOCHS; epoch++) {
            long start = System.nanoTime();
            try (ProgressBar bar = progress.start("training epoch " + epoch + "/" + EPOCHS, batches, "batches")) {
                net.setListeners(new BaseTrainingListener() {
                    @Override
                    public void iterationDone(Model model, int iteration, int epoch) {
                        bar.step();
                    }
                });
                net.fit(train);
            } finally {
                net.setListeners();
            }
            log.printf("Trained epoch %d/%d on 60,000 Fashion-MNIST images in %.1f s (score %.4f)%n", epoch, EPOCHS,
                    (System.nanoTime() - start) / 1e9, net.score());
        }
        org.quant4j.io.AtomicFiles.write(file, f -> ModelSerializer.writeModel(net, f.toFile(), false));
        log.println("Saved the trained network to " + file);
        return net;
    }

    /** The size in bytes of the network saved as a DL4J model file without updater state. */
    public static long modelFileBytes(MultiLayerNetwork net) throws IOException {
        File temp = File.createTempFile("quant4j-fp32", ".zip");
        try {
            ModelSerializer.writeModel(net, temp, false);
            return temp.length();
        } finally {
            Files.deleteIfExists(temp.toPath());
        }
    }
}
