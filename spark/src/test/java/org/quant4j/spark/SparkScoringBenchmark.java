package org.quant4j.spark;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;

/**
 * Scoring the 70,000 Fashion-MNIST images (training and test splits) on Spark: the int8 model against the DL4J
 * fp32 network in the same kind of job ({@link SparkScorer#score(JavaRDD)} over the same cached RDD of one-example
 * arrays, the same partitions and batch size), images per second. Rounds alternate int8 and fp32 so that both see
 * the same state of the machine; the median round of each is reported. Not a unit test: run it with
 * benchmarks/spark-scoring.sh on a quiet machine.
 *
 * <p>Arguments: the trained network (a DL4J MultiLayerNetwork file, e.g. the demo CNN), then optionally the master
 * (default {@code local[2]}), the batch size (256), the partitions (8), the rounds (5) and the images (70,000: all;
 * fewer for a smoke run).
 */
public final class SparkScoringBenchmark {

    private SparkScoringBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SparkScoringBenchmark MODEL.zip [MASTER [BATCH [PARTITIONS [ROUNDS [IMAGES]]]]]");
            System.exit(2);
        }
        File modelFile = new File(args[0]);
        String master = args.length > 1 ? args[1] : "local[2]";
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        int partitions = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        int limit = args.length > 5 ? Integer.parseInt(args[5]) : 70_000;

        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(modelFile, false);
        Datasets data = Datasets.fromEnvironment();
        QuantizedModel model = Quantizer.quantize(net, data.calibrationSet(Dataset.FASHION_MNIST, 1024, 1).iterator(64));
        System.out.println("model " + modelFile.getName() + ": " + model.execution()
                + (model.int8Unavailable() == null ? "" : " (" + model.int8Unavailable() + ")"));

        List<INDArray> examples = new ArrayList<>(70_000);
        for (Split split : new Split[] {Split.TRAIN, Split.TEST}) {
            LabeledImages images = data.load(Dataset.FASHION_MNIST, split);
            for (int i = 0; i < images.size() && examples.size() < limit; i++) {
                examples.add(images.features().get(NDArrayIndex.interval(i, i + 1)).dup());
            }
        }

        SparkSession session = SparkSession.builder().master(master).appName("quant4j-spark-scoring-benchmark")
                .config("spark.ui.enabled", "false").getOrCreate();
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
        JavaRDD<INDArray> rdd = sc.parallelize(examples, partitions).persist(StorageLevel.MEMORY_ONLY());
        long n = rdd.count();
        System.out.printf(Locale.ROOT, "%d images, %s, %d partitions, batches of %d, %d cores here%n", n, master,
                partitions, batch, Runtime.getRuntime().availableProcessors());

        try (SparkScorer int8 = SparkScorer.quantized(sc, model, batch);
                SparkScorer fp32 = SparkScorer.fp32(sc, net, batch)) {
            // One untimed round each: the models loaded on the executors, the int8 plans built, the JIT warmed.
            int8.score(rdd).count();
            fp32.score(rdd).count();
            double[] int8Rates = new double[rounds];
            double[] fp32Rates = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                int8Rates[r] = rate(int8, rdd, n);
                fp32Rates[r] = rate(fp32, rdd, n);
                System.out.printf(Locale.ROOT, "round %d: int8 %.0f images/s, fp32 %.0f images/s%n", r + 1,
                        int8Rates[r], fp32Rates[r]);
            }
            double i = median(int8Rates);
            double f = median(fp32Rates);
            System.out.printf(Locale.ROOT, "median: int8 %.0f images/s, DL4J fp32 %.0f images/s, ratio %.2fx%n",
                    i, f, i / f);
        } finally {
            session.stop();
        }
    }

    private static double rate(SparkScorer scorer, JavaRDD<INDArray> rdd, long n) {
        long start = System.nanoTime();
        long scored = scorer.score(rdd).count();
        double seconds = (System.nanoTime() - start) / 1e9;
        if (scored != n) {
            throw new IllegalStateException("scored " + scored + " of " + n + " images");
        }
        return n / seconds;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
