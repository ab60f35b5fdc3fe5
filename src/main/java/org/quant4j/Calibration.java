package org.quant4j;

import org.quant4j.calib.ChannelStatistics;
import org.quant4j.graph.ModelGraph;
import org.quant4j.quantize.ObservedNetwork;
import org.quant4j.quantize.QuantizationPipeline;

/**
 * What calibration learned about a network: per-channel statistics of every quantization point, observed once on
 * the calibration data (made by {@link Quantizer#calibrate}). {@link #quantize} turns them into a quantized model
 * for any range method, bit widths and granularity, so a comparison of methods reads the data once.
 *
 * <p>Points are always observed per channel; a per-tensor range is solved from the channels' statistics merged
 * (counts, extremes and moments exactly; histograms re-binned onto the common range). Not thread-safe; the
 * statistics are not changed by {@link #quantize}.
 */
public final class Calibration {

    private final ObservedNetwork observed;

    Calibration(ObservedNetwork observed) {
        this.observed = observed;
    }

    /**
     * A quantized model from these statistics. The options' calibrationBatches, reportBatches and
     * crossLayerEqualization are not read: the calibration batches, and whether the network was equalized, were
     * fixed when calibrating (sequential passes re-run the kept ones); the model's options say what was done.
     */
    public QuantizedModel quantize(QuantizationOptions options) {
        return QuantizedModel.of(QuantizationPipeline.quantize(observed, options));
    }

    /**
     * The statistics of this calibration, without its network or batches: serializable and mergeable with the
     * sketches of calibrations of the same network on other data (distributed calibration: one calibration per
     * partition, the sketches merged, the result put back with {@link #withStatistics}).
     */
    public CalibrationSketch sketch() {
        return CalibrationSketch.of(observed.observers(), observed.batches(), observed.samples());
    }

    /**
     * This calibration (its converted network and the batches it holds for the per-layer SQNR, the per-point
     * granularity choice and bias correction) with the statistics of {@code sketch} instead of its own: typically
     * the merged sketches of calibrations of the same network on the partitions of a data set, while this one
     * calibrated on the first batches of that data, so that the held batches are those one machine would hold.
     * {@link #batches()} and {@link #samples()} are then the sketch's. This calibration is not changed.
     *
     * @throws QuantizationException when the sketch is empty or observed other points (another network, another
     *                               input shape), or when this calibration was made for sequential passes
     */
    public Calibration withStatistics(CalibrationSketch sketch) {
        if (sketch.isEmpty()) {
            throw new QuantizationException("the calibration sketch is empty: it observed no batch");
        }
        return new Calibration(observed.withStatistics(sketch.observers(), sketch.batches(), sketch.samples()));
    }

    /** The statistics of a point: one per channel, or the channels merged into one when not {@code perChannel}. */
    public ChannelStatistics[] statistics(String tensor, boolean perChannel) {
        return observed.statistics(tensor, perChannel);
    }

    /** Whether {@code tensor} is a quantization point observed here. */
    public boolean observes(String tensor) {
        return observed.observes(tensor);
    }

    /** Frees the calibration's native memory now: for a calibration quantized once and dropped. */
    void release() {
        observed.release();
    }

    /** What was observed, for the searches that quantize many times from it. */
    ObservedNetwork observed() {
        return observed;
    }

    /** The fp32 graph calibrated (BatchNorms folded). */
    public ModelGraph fp32Graph() {
        return observed.fp32Graph();
    }

    /** Batches read. */
    public int batches() {
        return observed.batches();
    }

    /** Examples read. */
    public long samples() {
        return observed.samples();
    }

    /** Time spent observing, in milliseconds. */
    public long millis() {
        return observed.millis();
    }
}
