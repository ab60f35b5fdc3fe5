package org.quant4j.demo;

import java.io.OutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.quant4j.cli.Progress;
import org.quant4j.io.AtomicFiles;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.Split;
import org.quant4j.reference.FashionCnn;

/**
 * The demo's network ({@link FashionCnn}) trained on Fashion-MNIST once and kept as a DL4J model file in the model
 * cache; later runs reuse it.
 */
public final class FashionCnnTraining {

    private FashionCnnTraining() {
    }

    /** Where the trained model is kept. */
    public static Path cachedModel() {
        return Datasets.defaultRoot().getParent().resolve("models").resolve("fashion-cnn-" + FashionCnn.VERSION + ".zip");
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
        MultiLayerNetwork net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        DataSetIterator train = data.iterator(Dataset.FASHION_MNIST, Split.TRAIN, FashionCnn.BATCH);
        int batches = (60_000 + FashionCnn.BATCH - 1) / FashionCnn.BATCH;
        for (int epoch = 1; epoch <= FashionCnn.EPOCHS; epoch++) {
            long start = System.nanoTime();
            try (ProgressBar bar = progress.start("training epoch " + epoch + "/" + FashionCnn.EPOCHS, batches, "batches")) {
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
            log.printf("Trained epoch %d/%d on 60,000 Fashion-MNIST images in %.1f s (score %.4f)%n", epoch, FashionCnn.EPOCHS,
                    (System.nanoTime() - start) / 1e9, net.score());
        }
        AtomicFiles.writeStream(file, out -> ModelSerializer.writeModel(net, out, false));
        log.println("Saved the trained network to " + file);
        return net;
    }

    /** The size in bytes of the network saved as a DL4J model file without updater state. */
    public static long modelFileBytes(MultiLayerNetwork net) throws IOException {
        long[] bytes = {0};
        ModelSerializer.writeModel(net, new OutputStream() {
            @Override
            public void write(int b) {
                bytes[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes[0] += len;
            }
        }, false);
        return bytes[0];
    }
}
