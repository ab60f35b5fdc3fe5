package org.quant4j.accuracy;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.cli.Progress;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.io.AtomicFiles;
import org.quant4j.reference.ReferenceNetwork;

/**
 * Trains a {@link ReferenceNetwork} with DL4J (seeded: the configuration's seed fixes the initialization, and the
 * training data is read in file order) and saves it as a DL4J model file, atomically; loads it back.
 */
public final class ReferenceTraining {

    private ReferenceTraining() {
    }

    /** The result of a training run. */
    public record Trained(Model network, double testAccuracy, double seconds, Path file) {
    }

    /** Training steps between forced garbage collections (see {@link #train}). */
    static final int GC_EVERY_ITERATIONS = 50;

    /** Trains {@code net} on its data set's first {@link ReferenceNetwork#trainingImages()} training images and saves it as {@code dir/<id>.zip}. */
    public static Trained train(ReferenceNetwork net, Datasets data, Path dir, PrintStream log, Progress progress)
            throws IOException {
        Model model = net.untrained();
        LabeledImages train = net.trainingImages() >= ReferenceNetwork.TRAINING_SPLIT
                ? data.load(net.dataset(), Split.TRAIN)
                : data.load(net.dataset(), Split.TRAIN, Subset.first(net.trainingImages()));
        int batches = (train.size() + ReferenceNetwork.BATCH - 1) / ReferenceNetwork.BATCH;
        long start = System.nanoTime();
        for (int epoch = 1; epoch <= net.epochs(); epoch++) {
            long epochStart = System.nanoTime();
            DataSetIterator it = train.iterator(ReferenceNetwork.BATCH);
            try (ProgressBar bar = progress.start(net.id() + " epoch " + epoch + "/" + net.epochs(), batches,
                    "batches")) {
                BaseTrainingListener step = new BaseTrainingListener() {
                    @Override
                    public void iterationDone(Model m, int iteration, int e) {
                        bar.step();
                        if (iteration % GC_EVERY_ITERATIONS == 0) {
                            // ND4J frees a dropped array's native buffer only when the GC collects its Java
                            // object; with a large heap that is rare, and training the MobileNet-style CNN grew
                            // to 16 GB RSS. A collection every few dozen steps bounds it.
                            System.gc();
                        }
                    }
                };
                if (model instanceof MultiLayerNetwork m) {
                    m.setListeners(step);
                    m.fit(it);
                    m.setListeners();
                } else {
                    ComputationGraph g = (ComputationGraph) model;
                    g.setListeners(step);
                    g.fit(it);
                    g.setListeners();
                }
            }
            log.printf(Locale.ROOT, "%s: epoch %d/%d in %.1f s, score %.4f%n", net.id(), epoch, net.epochs(),
                    (System.nanoTime() - epochStart) / 1e9, model.score());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double accuracy = testAccuracy(model, data.evaluationSet(net.dataset()));
        Path file = AtomicFiles.writeStream(dir.resolve(net.fileName()),
                out -> ModelSerializer.writeModel(model, out, false));
        log.printf(Locale.ROOT, "%s: trained in %.0f s, fp32 top-1 %.2f%% on the 10,000 test images; saved %s "
                + "(%,d bytes)%n", net.id(), seconds, 100 * accuracy, file, Files.size(file));
        return new Trained(model, accuracy, seconds, file);
    }

    /** The trained network saved in {@code dir}; the error names the file and the command that makes it. */
    public static Model load(ReferenceNetwork net, Path dir) throws IOException {
        Path file = dir.resolve(net.fileName());
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null,
                    "no trained " + net.id() + " network; make it with: ./quant4j train " + net.id() + " --out " + dir);
        }
        return net.configuration() instanceof MultiLayerConfiguration
                ? ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false)
                : ModelSerializer.restoreComputationGraph(file.toFile(), false);
    }

    /** fp32 top-1 of a DL4J network on {@code images}. */
    public static double testAccuracy(Model model, LabeledImages images) {
        Evaluation e = new Evaluation(images.dataset().numClasses());
        DataSetIterator it = images.iterator(500);
        while (it.hasNext()) {
            var ds = it.next();
            e.eval(ds.getLabels(), fp32Output(model, ds.getFeatures()));
        }
        return e.accuracy();
    }

    /** A DL4J network's inference output. */
    public static INDArray fp32Output(Model model, INDArray features) {
        return model instanceof MultiLayerNetwork m ? m.output(features, false)
                : ((ComputationGraph) model).outputSingle(false, features);
    }
}
