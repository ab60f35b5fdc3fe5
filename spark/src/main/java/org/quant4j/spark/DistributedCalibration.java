package org.quant4j.spark;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import org.quant4j.Calibration;
import org.quant4j.CalibrationSketch;
import org.quant4j.InputNormalization;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.Quantizer;

/**
 * Calibration over an RDD of DataSets: every partition calibrates the network on its own DataSets (one batch each)
 * and keeps only its statistics ({@link Calibration#sketch()}); the sketches are merged with {@code treeAggregate}
 * ({@link CalibrationSketch#merge}: counts, extremes and histograms exactly, moments to rounding). The driver
 * calibrates on the first DataSets of the RDD, which it holds for the per-layer SQNR, the per-point granularity
 * choice and bias correction, as one machine would, and takes the merged statistics instead of its own
 * ({@link Calibration#withStatistics}). The result quantizes on the driver ({@link Calibration#quantize}) as a
 * calibration made on one machine does, with ranges equal to one machine's on the same DataSets in the RDD's order
 * up to floating-point rounding.
 *
 * <p>Every DataSet of the RDD is read: {@link QuantizationOptions#calibrationBatches()} is one machine's limit on an
 * iterator (sample the RDD to calibrate on less). Sequential calibration ({@code sequentialPasses}) re-reads every
 * batch on one machine and is refused. What the partitions need of the options (the input normalization and
 * cross-layer equalization, which change the graph observed) is sent with the task; the network goes as its
 * {@code ModelSerializer} bytes, broadcast once, one copy per task at a time on each executor.
 */
public final class DistributedCalibration {

    private DistributedCalibration() {
    }

    /** Calibrates {@code net} (a MultiLayerNetwork or ComputationGraph) on every DataSet of {@code data}. */
    public static Calibration calibrate(JavaSparkContext sc, Model net, JavaRDD<DataSet> data,
            QuantizationOptions options) {
        if (options.sequentialPasses() > 0) {
            throw new QuantizationException("distributed calibration cannot make sequential passes (sequentialPasses "
                    + options.sequentialPasses() + "): they re-read every calibration batch on one machine");
        }
        if (!(net instanceof MultiLayerNetwork) && !(net instanceof ComputationGraph)) {
            throw new IllegalArgumentException("a MultiLayerNetwork or ComputationGraph is calibrated, got "
                    + net.getClass().getName());
        }
        List<DataSet> first = data.take(Math.max(1, options.reportBatches()));
        if (first.isEmpty()) {
            throw new QuantizationException("the calibration RDD is empty: it holds no DataSet");
        }
        Calibration held = calibrate(net, first.iterator(), options);
        boolean graph = net instanceof ComputationGraph;
        PartitionOptions partition = PartitionOptions.of(options);
        Broadcast<byte[]> bytes = sc.broadcast(ExecutorModels.bytes(net));
        try {
            CalibrationSketch merged = data.mapPartitions((Iterator<DataSet> it) -> {
                if (!it.hasNext()) {
                    return List.of(CalibrationSketch.empty()).iterator();
                }
                CalibrationSketch sketch = ExecutorModels.withFp32(bytes, graph,
                        copy -> calibrate(copy, it, partition.options()).sketch());
                return List.of(sketch).iterator();
            }).treeAggregate(CalibrationSketch.empty(), CalibrationSketch::merge, CalibrationSketch::merge);
            return held.withStatistics(merged);
        } finally {
            bytes.destroy();
        }
    }

    private static Calibration calibrate(Model net, Iterator<DataSet> batches, QuantizationOptions options) {
        ExistingDataSetIterator it = new ExistingDataSetIterator(batches);
        return net instanceof ComputationGraph g ? Quantizer.calibrate(g, it, options)
                : Quantizer.calibrate((MultiLayerNetwork) net, it, options);
    }

    /**
     * What a partition's calibration needs of the options, serializable (the options may hold a user's range
     * solver, which need not be): the input normalization and whether to equalize; every batch read, none kept.
     */
    private record PartitionOptions(String normalizer, float[] offset, float[] multiplier, boolean equalize)
            implements Serializable {

        static PartitionOptions of(QuantizationOptions options) {
            InputNormalization n = options.inputNormalization();
            return n == null ? new PartitionOptions(null, null, null, options.crossLayerEqualization())
                    : new PartitionOptions(n.normalizer(), n.offset(), n.multiplier(), options.crossLayerEqualization());
        }

        QuantizationOptions options() {
            QuantizationOptions.Builder b = QuantizationOptions.builder().calibrationBatches(Integer.MAX_VALUE)
                    .reportBatches(0).crossLayerEqualization(equalize);
            if (normalizer != null) {
                b.inputNormalization(new InputNormalization(normalizer, offset, multiplier));
            }
            return b.build();
        }
    }
}
