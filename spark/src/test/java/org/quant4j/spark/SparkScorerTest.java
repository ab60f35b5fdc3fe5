package org.quant4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.QuantizedModel;
import org.quant4j.data.LabeledImages;
import scala.Tuple2;

/**
 * Batch scoring in {@code local[2]}: every form of input scored through the broadcast model gives exactly the rows
 * the quantized model gives on one machine for all the images at once, and each executor JVM loads the model once.
 */
class SparkScorerTest {

    static JavaSparkContext sc;
    static QuantizedModel model;
    static LabeledImages images;
    /** The quantized model's output for all test images at once, on this machine. */
    static INDArray expected;

    @BeforeAll
    static void setUp() {
        sc = LocalSpark.context();
        model = LocalSpark.quantized();
        images = LocalSpark.testImages();
        expected = model.output(images.features());
        assertEquals(QuantizedModel.Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
    }

    /** One example per element, shape [1, 1, 28, 28]. */
    static List<INDArray> rows() {
        List<INDArray> rows = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            rows.add(images.features().get(NDArrayIndex.interval(i, i + 1)).dup());
        }
        return rows;
    }

    static float[] expectedRow(long i) {
        return expected.getRow(i).dup().data().asFloat();
    }

    @Test
    void anRddOfExamplesScoresAsOneMachineAndLoadsTheModelOncePerJvm() {
        try (SparkScorer scorer = SparkScorer.quantized(sc, model, 64)) {
            // 4 partitions of 500 on 2 task threads: batches of 64 and the remainders, the model shared by both.
            List<INDArray> outputs = scorer.score(sc.parallelize(rows(), 4)).collect();
            assertEquals(images.size(), outputs.size());
            for (int i = 0; i < outputs.size(); i++) {
                assertArrayEquals(new long[] {1, 10}, outputs.get(i).shape());
                assertArrayEquals(expectedRow(i), outputs.get(i).data().asFloat(), "example " + i);
            }
            assertEquals(1, ExecutorModels.loads(scorer.broadcast().id()), "models loaded from the broadcast");
        }
    }

    @Test
    void keysAreKeptWithTheirOutputs() {
        List<Tuple2<String, INDArray>> pairs = new ArrayList<>();
        List<INDArray> rows = rows();
        for (int i = rows.size() - 1; i >= 0; i--) { // reversed: keys, not positions, carry the identity
            pairs.add(new Tuple2<>("image-" + i, rows.get(i)));
        }
        try (SparkScorer scorer = SparkScorer.quantized(sc, model, 50)) {
            JavaPairRDD<String, INDArray> scored = scorer.score(JavaPairRDD.fromJavaRDD(sc.parallelize(pairs, 3)));
            Map<String, INDArray> byKey = scored.collectAsMap();
            assertEquals(images.size(), byKey.size());
            for (int i = 0; i < images.size(); i++) {
                assertArrayEquals(expectedRow(i), byKey.get("image-" + i).data().asFloat(), "image-" + i);
            }
        }
    }

    @Test
    void dataSetsOfAnySizeGetTheirOwnRows() {
        List<DataSet> sets = LocalSpark.dataSets(images, 30); // 30 examples each: stacked up to 100, never split
        try (SparkScorer scorer = SparkScorer.quantized(sc, model, 100)) {
            List<INDArray> outputs = scorer.scoreDataSets(sc.parallelize(sets, 4)).collect();
            assertEquals(sets.size(), outputs.size());
            long from = 0;
            for (int s = 0; s < sets.size(); s++) {
                long n = sets.get(s).numExamples();
                assertArrayEquals(expected.get(NDArrayIndex.interval(from, from + n)).dup().data().asFloat(),
                        outputs.get(s).data().asFloat(), "DataSet " + s);
                from += n;
            }
        }
    }

    @Test
    void aColumnOfFloatArraysGetsAnOutputColumn() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            rows.add(RowFactory.create((long) i, images.features().get(NDArrayIndex.interval(i, i + 1)).dup().data().asFloat()));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType)
                .add("pixels", DataTypes.createArrayType(DataTypes.FloatType));
        org.apache.spark.sql.Dataset<Row> frame = LocalSpark.session().createDataFrame(rows, schema).repartition(3);
        try (SparkScorer scorer = SparkScorer.quantized(sc, model, 128)) {
            List<Row> scored = scorer.score(frame, "pixels", "scores").collectAsList();
            assertEquals(images.size(), scored.size());
            for (Row r : scored) {
                long id = r.getLong(0);
                List<Float> out = r.getList(2);
                float[] actual = new float[out.size()];
                for (int k = 0; k < actual.length; k++) {
                    actual[k] = out.get(k);
                }
                assertArrayEquals(expectedRow(id), actual, "row " + id);
            }
        }
    }

    @Test
    void aColumnOfAnotherTypeIsRefusedNamingIt() {
        StructType schema = new StructType().add("pixels", DataTypes.StringType);
        org.apache.spark.sql.Dataset<Row> frame = LocalSpark.session()
                .createDataFrame(List.of(RowFactory.create("x")), schema);
        try (SparkScorer scorer = SparkScorer.quantized(sc, model, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> scorer.score(frame, "pixels", "scores"));
            assertTrue(e.getMessage().contains("'pixels'") && e.getMessage().contains("array<float>"), e.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> scorer.score(frame, "image", "scores"));
            assertTrue(missing.getMessage().contains("no column 'image'"), missing.getMessage());
        }
    }

    @Test
    void aConvolutionalNetworkScoresAsOneMachineToo() throws Exception {
        org.deeplearning4j.nn.multilayer.MultiLayerNetwork lenet = org.deeplearning4j.util.ModelSerializer
                .restoreMultiLayerNetwork(LocalSpark.MODELS.resolve("lenet-mnist.zip").toFile(), false);
        QuantizedModel cnn = org.quant4j.Quantizer.quantize(lenet, LocalSpark.DATA.calibrationSet(
                org.quant4j.data.Dataset.MNIST, 256, 3).iterator(64), LocalSpark.options());
        assertEquals(QuantizedModel.Execution.INT8, cnn.execution(), "int8 unavailable: " + cnn.int8Unavailable());
        List<INDArray> rows = rows().subList(0, 500);
        INDArray all = cnn.output(images.features().get(NDArrayIndex.interval(0, 500)));
        try (SparkScorer scorer = SparkScorer.quantized(sc, cnn, 48)) {
            List<INDArray> outputs = scorer.score(sc.parallelize(rows, 3)).collect();
            for (int i = 0; i < outputs.size(); i++) {
                assertArrayEquals(all.getRow(i).dup().data().asFloat(), outputs.get(i).data().asFloat(), "example " + i);
            }
        }
    }

    @Test
    void theFp32NetworkScoresAsDl4jOnOneMachine() {
        INDArray fp32 = LocalSpark.mlp().output(images.features(), false);
        try (SparkScorer scorer = SparkScorer.fp32(sc, LocalSpark.mlp(), 64)) {
            List<INDArray> outputs = scorer.score(sc.parallelize(rows(), 4)).collect();
            for (int i = 0; i < outputs.size(); i++) {
                float[] e = fp32.getRow(i).dup().data().asFloat();
                assertArrayEquals(e, outputs.get(i).data().asFloat(), 1e-6f, "example " + i);
            }
        }
    }
}
