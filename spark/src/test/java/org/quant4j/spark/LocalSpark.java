package org.quant4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;

/**
 * What the Spark tests share: one {@code local[2]} Spark session per test JVM (Spark allows one context), the
 * committed reference MLP on MNIST, its quantized model and a few thousand MNIST images.
 */
final class LocalSpark {

    /** The committed trained networks: the repository's models/ (the spark pom names it; tests run in spark/). */
    static final Path MODELS = Path.of(System.getProperty("quant4j.models", "../models"));
    static final Datasets DATA = Datasets.fromEnvironment();

    private static SparkSession session;
    private static MultiLayerNetwork mlp;
    private static QuantizedModel quantized;
    private static LabeledImages test;

    private LocalSpark() {
    }

    static synchronized SparkSession session() {
        if (session == null) {
            session = SparkSession.builder().master("local[2]").appName("quant4j-spark-tests")
                    .config("spark.ui.enabled", "false").config("spark.driver.host", "localhost")
                    .config("spark.sql.shuffle.partitions", "4").getOrCreate();
        }
        return session;
    }

    static JavaSparkContext context() {
        return JavaSparkContext.fromSparkContext(session().sparkContext());
    }

    /** The reference 784-256-128-10 MLP, trained on MNIST (models/mlp-mnist.zip). */
    static synchronized MultiLayerNetwork mlp() {
        if (mlp == null) {
            try {
                mlp = ModelSerializer.restoreMultiLayerNetwork(MODELS.resolve("mlp-mnist.zip").toFile(), false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return mlp;
    }

    static QuantizationOptions options() {
        return QuantizationOptions.builder().calibrationBatches(1_000).reportBatches(2).build();
    }

    /** The MLP quantized on 1,024 MNIST training images (one machine). */
    static synchronized QuantizedModel quantized() {
        if (quantized == null) {
            quantized = Quantizer.quantize(mlp(), DATA.calibrationSet(Dataset.MNIST, 1024, 7).iterator(64),
                    options());
        }
        return quantized;
    }

    /** The first 2,000 MNIST test images. */
    static synchronized LabeledImages testImages() {
        if (test == null) {
            test = DATA.load(Dataset.MNIST, Split.TEST, Subset.first(2_000));
        }
        return test;
    }

    /** {@code images} as DataSets of {@code size} examples, in order. */
    static List<DataSet> dataSets(LabeledImages images, int size) {
        List<DataSet> list = new ArrayList<>();
        for (int from = 0; from < images.size(); from += size) {
            int to = Math.min(images.size(), from + size);
            list.add(new DataSet(images.features().get(NDArrayIndex.interval(from, to)).dup(),
                    images.labels().get(NDArrayIndex.interval(from, to)).dup()));
        }
        return list;
    }
}
