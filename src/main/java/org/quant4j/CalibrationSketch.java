package org.quant4j;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.TensorObserver;

/**
 * The statistics of a calibration without its network or data: per-channel statistics of every quantization point,
 * and how many batches and examples they saw. Serializable, and mergeable: calibrations of the same network on
 * different batches (on the partitions of a cluster) give sketches whose {@link #merge} is the sketch of one
 * calibration on all the batches. Counts, extremes and histograms merge exactly (a histogram's range grows by
 * merging pairs of bins, which moves no count across a value); the mean and central sums up to the 6th merge by
 * Pébay's pairwise formula, equal to one pass up to floating-point rounding, which depends on the order of merging
 * ({@link ChannelStatistics}).
 *
 * <p>Made by {@link Calibration#sketch()}; {@link Calibration#withStatistics} puts a merged sketch back into a
 * calibration of the same network, which then quantizes as usual. Immutable: {@link #merge} returns a new sketch.
 */
public final class CalibrationSketch implements Serializable {

    private static final long serialVersionUID = 1L;

    private static final CalibrationSketch EMPTY = new CalibrationSketch(new LinkedHashMap<>(), 0, 0);

    private final LinkedHashMap<String, TensorObserver> observers;
    private final int batches;
    private final long samples;

    private CalibrationSketch(LinkedHashMap<String, TensorObserver> observers, int batches, long samples) {
        this.observers = observers;
        this.batches = batches;
        this.samples = samples;
    }

    /** The sketch of no data: merging with it changes nothing (the zero of a distributed aggregation). */
    public static CalibrationSketch empty() {
        return EMPTY;
    }

    /** A sketch of copies of {@code observers}. */
    static CalibrationSketch of(Map<String, TensorObserver> observers, int batches, long samples) {
        LinkedHashMap<String, TensorObserver> copies = new LinkedHashMap<>();
        observers.forEach((tensor, o) -> copies.put(tensor, o.copy()));
        return new CalibrationSketch(copies, batches, samples);
    }

    /**
     * The statistics of both sketches' data together; neither sketch is changed. The points are this sketch's
     * order.
     *
     * @throws QuantizationException when the sketches observe different points (another network, or another
     *                               conversion of it), naming the tensors that differ
     */
    public CalibrationSketch merge(CalibrationSketch other) {
        if (other.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return other;
        }
        if (!observers.keySet().equals(other.observers.keySet())) {
            throw new QuantizationException("cannot merge calibration sketches of different quantization points: "
                    + observers.keySet() + " and " + other.observers.keySet());
        }
        LinkedHashMap<String, TensorObserver> merged = new LinkedHashMap<>();
        observers.forEach((tensor, o) -> {
            TensorObserver m = o.copy();
            m.merge(other.observers.get(tensor));
            merged.put(tensor, m);
        });
        return new CalibrationSketch(merged, Math.addExact(batches, other.batches), samples + other.samples);
    }

    /** Whether this sketch saw no data. */
    public boolean isEmpty() {
        return observers.isEmpty();
    }

    /** The quantization points (tensor names), in observation order. */
    public Set<String> tensors() {
        return Collections.unmodifiableSet(observers.keySet());
    }

    /**
     * Copies of the per-channel statistics of the point {@code tensor} (one entry for a point observed per tensor).
     *
     * @throws QuantizationException when {@code tensor} is not a point of this sketch
     */
    public ChannelStatistics[] statistics(String tensor) {
        TensorObserver o = observers.get(tensor);
        if (o == null) {
            throw new QuantizationException("'" + tensor + "' is not a quantization point of this sketch; its points: "
                    + observers.keySet());
        }
        ChannelStatistics[] channels = o.channels();
        for (int c = 0; c < channels.length; c++) {
            channels[c] = channels[c].copy();
        }
        return channels;
    }

    /** The observers themselves, for {@link Calibration#withStatistics} (which copies them). */
    Map<String, TensorObserver> observers() {
        return Collections.unmodifiableMap(observers);
    }

    /** Batches observed. */
    public int batches() {
        return batches;
    }

    /** Examples observed. */
    public long samples() {
        return samples;
    }

    @Override
    public String toString() {
        return "CalibrationSketch[points=" + observers.size() + ", batches=" + batches + ", samples=" + samples + "]";
    }
}
