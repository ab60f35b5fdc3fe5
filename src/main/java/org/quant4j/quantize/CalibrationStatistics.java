package org.quant4j.quantize;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import java.util.List;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorQuantization;

/**
 * The per-channel statistics (extremes, moments, histogram) of every tensor a quantized model quantizes, collected
 * again from the fp32 graph for the report: the quantizer keeps only the solved ranges, so the report replays the
 * calibration. On the same calibration batches this gives the very statistics the ranges were solved from (a test
 * checks that solving them again reproduces the model's ranges).
 *
 * @param channels the statistics per channel, by tensor name
 */
public record CalibrationStatistics(Map<String, ChannelStatistics[]> channels) {

    public CalibrationStatistics {
        channels = Map.copyOf(channels);
    }

    /**
     * Observes the activation tensors of {@code quantizations} (a quantized model's) on at most {@code maxBatches}
     * batches (run through the fp32 graph {@code converted}) and reads its weights from the fp32 graph.
     */
    public static CalibrationStatistics collect(ModelGraph converted, List<TensorQuantization> quantizations,
            Iterator<INDArray[]> batches, int maxBatches) {
        return collect(converted, quantizations, batches, maxBatches, false);
    }

    /**
     * As {@link #collect(ModelGraph, List, Iterator, int)}, for a model made with cross-layer equalization when
     * {@code equalized} (its {@code options().crossLayerEqualization()}): the fp32 graph is equalized the same way.
     */
    public static CalibrationStatistics collect(ModelGraph converted, List<TensorQuantization> quantizations,
            Iterator<INDArray[]> batches, int maxBatches, boolean equalized) {
        // As the quantizer does: BatchNorms folded into convolutions, activation scales folded into weights.
        ObservedNetwork calibration = QuantizationPipeline.calibrate(converted, batches,
                QuantizationOptions.builder().calibrationBatches(maxBatches).reportBatches(0)
                        .crossLayerEqualization(equalized).build());
        ModelGraph fp32 = calibration.fp32Graph();
        Map<String, ChannelStatistics[]> result = new LinkedHashMap<>();
        for (TensorQuantization t : quantizations) {
            if (t.kind() == TensorQuantization.Kind.ACTIVATION) {
                if (!calibration.observes(t.tensor())) {
                    throw new QuantizationException("the fp32 network has no quantization point '" + t.tensor()
                            + "' that the quantized model quantizes: is it the network the model was made from?");
                }
                result.put(t.tensor(), calibration.statistics(t.tensor(), t.axis() >= 0));
            } else {
                var variable = fp32.graph().getVariable(t.tensor());
                if (variable == null || variable.getArr() == null) {
                    throw new QuantizationException("the fp32 network has no weight '" + t.tensor()
                            + "' that the quantized model quantizes: is it the network the model was made from?");
                }
                result.put(t.tensor(), RangeSetting.weightStatistics(fp32, t));
            }
        }
        return new CalibrationStatistics(result);
    }

    /** The statistics of {@code tensor}, or null when it was not observed. */
    public ChannelStatistics[] of(String tensor) {
        return channels.get(tensor);
    }
}
