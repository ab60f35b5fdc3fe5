package org.quant4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import scala.Tuple2;

/**
 * Batch scoring on Spark: a model's bytes broadcast once, one model per executor JVM ({@link ExecutorModels}),
 * each partition scored in batches of {@link #batchSize()} examples. A quantized model ({@link #quantized}) or, for
 * comparison, the DL4J fp32 network ({@link #fp32}), scored the same way.
 *
 * <p>An element of an RDD of arrays holds examples along axis 0 (usually one: shape {@code [1, ...]}, as
 * {@code DataSet.get(i).getFeatures()} gives); consecutive elements of a partition are stacked into batches of at
 * least one and at most {@code batchSize} examples (an element is never split), and each element gets the rows of
 * the output that are its own, in order. Outputs are those of the model on one machine: the quantized model's rows
 * do not depend on the other rows of a batch (asserted by the tests). Scoring is lazy, as Spark's transformations
 * are: the returned RDD is computed by an action. {@link #close()} destroys the broadcast.
 */
public final class SparkScorer implements Serializable, AutoCloseable {

    private static final long serialVersionUID = 1L;

    /** What the broadcast bytes are. */
    enum Kind { QUANTIZED, FP32_NETWORK, FP32_GRAPH }

    private final Broadcast<byte[]> model;
    private final Kind kind;
    private final int batchSize;
    /** The shape of one example (no batch axis), for columns of flat arrays; empty: unknown. */
    private final long[] exampleShape;

    private SparkScorer(Broadcast<byte[]> model, Kind kind, int batchSize, long[] exampleShape) {
        this.model = model;
        this.kind = kind;
        this.batchSize = batchSize;
        this.exampleShape = exampleShape;
    }

    /** Scores with {@code model}: its {@code .q4j} bytes are broadcast once. */
    public static SparkScorer quantized(JavaSparkContext sc, QuantizedModel model, int batchSize) {
        long[] input = model.inputs().get(0).shape();
        long[] example = input.length > 1 && Arrays.stream(input, 1, input.length).allMatch(d -> d > 0)
                ? Arrays.copyOfRange(input, 1, input.length) : new long[0];
        checkBatchSize(batchSize);
        return new SparkScorer(sc.broadcast(ExecutorModels.bytes(model)), Kind.QUANTIZED, batchSize, example);
    }

    /**
     * Scores with the DL4J network {@code net} (a MultiLayerNetwork or ComputationGraph of one input and output) in
     * fp32: its {@code ModelSerializer} bytes are broadcast once. {@code exampleShape} is the shape of one example
     * without the batch axis, for {@link #score(Dataset, String, String)}'s flat arrays (none: the arrays are
     * taken as they are).
     */
    public static SparkScorer fp32(JavaSparkContext sc, Model net, int batchSize, long... exampleShape) {
        checkBatchSize(batchSize);
        Kind kind = net instanceof ComputationGraph ? Kind.FP32_GRAPH : Kind.FP32_NETWORK;
        return new SparkScorer(sc.broadcast(ExecutorModels.bytes(net)), kind, batchSize, exampleShape.clone());
    }

    private static void checkBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
    }

    public int batchSize() {
        return batchSize;
    }

    /** The broadcast holding the model's bytes. */
    Broadcast<byte[]> broadcast() {
        return model;
    }

    /** The model's first output for one batch; runs on an executor. */
    INDArray output(INDArray features) {
        if (kind == Kind.QUANTIZED) {
            return ExecutorModels.quantized(model).output(features);
        }
        return ExecutorModels.withFp32(model, kind == Kind.FP32_GRAPH, net -> ExecutorModels.output(net, features));
    }

    /** The outputs of the examples of each element, in order (an element of {@code n} examples: {@code n} rows). */
    public JavaRDD<INDArray> score(JavaRDD<INDArray> features) {
        return features.mapPartitions(it -> batches(it, f -> f, (f, out) -> out));
    }

    /** As {@link #score(JavaRDD)}, the keys kept with their outputs. */
    public <K> JavaPairRDD<K, INDArray> score(JavaPairRDD<K, INDArray> features) {
        return features.mapPartitionsToPair(it -> batches(it, Tuple2::_2, (kv, out) -> new Tuple2<>(kv._1(), out)));
    }

    /**
     * The output of every DataSet's features, one array per DataSet (its rows those of its examples); DataSets
     * smaller than the batch size are stacked as arrays are.
     */
    public JavaRDD<INDArray> scoreDataSets(JavaRDD<DataSet> data) {
        return data.mapPartitions(it -> batches(it, DataSet::getFeatures, (d, out) -> out));
    }

    /**
     * {@code rows} with a column {@code outputColumn} added: the model's first output, flattened to a float array,
     * for the example in {@code inputColumn} (an array of floats: one example flattened, reshaped to the model's
     * input shape, or to the example shape given to {@link #fp32}).
     */
    public Dataset<Row> score(Dataset<Row> rows, String inputColumn, String outputColumn) {
        StructType schema = rows.schema();
        int in = columnIndex(schema, inputColumn);
        if (Arrays.asList(schema.fieldNames()).contains(outputColumn)) {
            throw new IllegalArgumentException("column '" + outputColumn + "' is already in the rows: "
                    + schema.simpleString());
        }
        StructType out = schema.add(outputColumn, DataTypes.createArrayType(DataTypes.FloatType, false));
        long[] shape = exampleShape;
        JavaRDD<Row> scored = rows.toJavaRDD().mapPartitions(it -> batches(it,
                row -> example(row, in, inputColumn, shape),
                (row, output) -> withColumn(row, output)));
        return rows.sparkSession().createDataFrame(scored, out);
    }

    private static int columnIndex(StructType schema, String column) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException("no column '" + column + "' in " + schema.simpleString());
        }
        int index = schema.fieldIndex(column);
        if (!schema.fields()[index].dataType().sameType(DataTypes.createArrayType(DataTypes.FloatType))) {
            throw new IllegalArgumentException("column '" + column + "' is " + schema.fields()[index].dataType()
                    .simpleString() + ", expected array<float> (one example, flattened)");
        }
        return index;
    }

    /** One example from a row's float array, shaped {@code [1, shape...]} (or {@code [1, n]} without a shape). */
    private static INDArray example(Row row, int column, String name, long[] shape) {
        if (row.isNullAt(column)) {
            throw new IllegalArgumentException("column '" + name + "' is null in row " + row);
        }
        List<Object> values = row.getList(column);
        float[] data = new float[values.size()];
        for (int i = 0; i < data.length; i++) {
            Object v = values.get(i);
            if (v == null) {
                throw new IllegalArgumentException("column '" + name + "' holds a null at index " + i);
            }
            data[i] = (Float) v;
        }
        long[] full = new long[shape.length + 1];
        full[0] = 1;
        if (shape.length == 0) {
            full = new long[] {1, data.length};
        } else {
            System.arraycopy(shape, 0, full, 1, shape.length);
            long n = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            if (n != data.length) {
                throw new IllegalArgumentException("column '" + name + "' holds " + data.length + " values, but an"
                        + " example of shape " + Arrays.toString(shape) + " has " + n);
            }
        }
        return Nd4j.create(data, full);
    }

    private static Row withColumn(Row row, INDArray output) {
        float[] flat = output.dup('c').data().asFloat();
        Object[] values = new Object[row.length() + 1];
        for (int i = 0; i < row.length(); i++) {
            values[i] = row.get(i);
        }
        values[row.length()] = flat;
        return RowFactory.create(values);
    }

    /**
     * The elements of a partition, scored in batches: up to {@code batchSize} examples stacked, scored at once, and
     * each element given its rows. Lazy: a batch is scored when its first result is asked for.
     */
    private <E, R> Iterator<R> batches(Iterator<E> elements, Function<E, INDArray> features,
            java.util.function.BiFunction<E, INDArray, R> result) {
        return new Iterator<>() {
            private final List<R> ready = new ArrayList<>();
            private int next;

            @Override
            public boolean hasNext() {
                if (next < ready.size()) {
                    return true;
                }
                ready.clear();
                next = 0;
                if (!elements.hasNext()) {
                    return false;
                }
                List<E> batch = new ArrayList<>();
                List<INDArray> arrays = new ArrayList<>();
                long rows = 0;
                do {
                    E e = elements.next();
                    INDArray f = features.apply(e);
                    if (f.rank() < 2 || f.size(0) < 1) {
                        throw new IllegalArgumentException("an element's features must hold examples along axis 0"
                                + " (shape [n, ...], n >= 1), got shape " + Arrays.toString(f.shape()));
                    }
                    batch.add(e);
                    arrays.add(f);
                    rows += f.size(0);
                } while (rows < batchSize && elements.hasNext());
                INDArray stacked = arrays.size() == 1 ? arrays.get(0) : Nd4j.concat(0, arrays.toArray(INDArray[]::new));
                INDArray out = output(stacked);
                long from = 0;
                for (int i = 0; i < batch.size(); i++) {
                    long n = arrays.get(i).size(0);
                    INDArray rowsOut = batch.size() == 1 ? out
                            : out.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, from + n)).dup();
                    ready.add(result.apply(batch.get(i), rowsOut));
                    from += n;
                }
                return true;
            }

            @Override
            public R next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.get(next++);
            }
        };
    }

    /** Destroys the broadcast (executors drop its bytes; models already loaded stay in their cache). */
    @Override
    public void close() {
        model.destroy();
    }
}
