package org.quant4j.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * What a quantization did: the method, the calibration it saw, the time it took, and the SQNR of every layer's
 * output against fp32.
 *
 * @param activationMethod   range method of activations
 * @param weightMethod       range method of weights
 * @param activationBits     bits of activations
 * @param weightBits         bits of weights
 * @param granularity        e.g. "per-channel activations, per-channel weights"
 * @param calibrationBatches batches read for calibration
 * @param calibrationSamples samples (rows of the first input) read for calibration
 * @param calibrationCutOff  whether the calibration data held more batches than were read (the
 *                           {@code calibrationBatches} limit cut it off)
 * @param quantizedOps       the ops running quantized
 * @param keptFp32Ops        the quantizable ops left in fp32
 * @param calibrationMillis  time spent observing activations; -1 when not known (a model loaded from a file: files
 *                           do not store timings, so that they are byte-identical across runs)
 * @param solveMillis        time spent solving ranges and rewriting the graph; -1 when not known
 * @param layers             per-layer SQNR, in graph order, measured on the first calibration batches
 * @param inputNormalization the input normalizer built into the model at its input, described (e.g.
 *                           "NormalizerStandardize (per feature or channel, 4 values)"), or null: none, the model
 *                           takes the data its network took
 */
public record QuantizationReport(String activationMethod, String weightMethod, int activationBits, int weightBits,
        String granularity, int calibrationBatches, long calibrationSamples, boolean calibrationCutOff,
        List<String> quantizedOps,
        List<String> keptFp32Ops, long calibrationMillis, long solveMillis, List<LayerSqnr> layers,
        String inputNormalization) {

    public QuantizationReport {
        quantizedOps = List.copyOf(quantizedOps);
        keptFp32Ops = List.copyOf(keptFp32Ops);
        layers = List.copyOf(layers);
    }

    /** This report without the measured timings (both -1): what {@code QuantizedModel.save} stores. */
    public QuantizationReport withoutTimings() {
        return new QuantizationReport(activationMethod, weightMethod, activationBits, weightBits, granularity,
                calibrationBatches, calibrationSamples, calibrationCutOff, quantizedOps, keptFp32Ops, -1, -1, layers,
                inputNormalization);
    }

    /** "in 12 ms, solve 3 ms", or a note that the timings are not known (a loaded model). */
    public String timingText() {
        return calibrationMillis < 0 || solveMillis < 0 ? "(timings not stored in model files)"
                : String.format(Locale.ROOT, "in %d ms, solve %d ms", calibrationMillis, solveMillis);
    }

    /** The layers with the lowest SQNR first. */
    public List<LayerSqnr> worstLayers(int n) {
        List<LayerSqnr> sorted = new ArrayList<>(layers);
        sorted.sort(Comparator.comparingDouble(LayerSqnr::sqnrDb));
        return sorted.subList(0, Math.min(n, sorted.size()));
    }

    /** A plain-text table of the per-layer SQNR, for terminals and logs. */
    public String sqnrTable() {
        int width = Math.max(5, layers.stream().mapToInt(l -> l.layer().length()).max().orElse(5));
        int typeWidth = Math.max(4, layers.stream().mapToInt(l -> l.type().length()).max().orElse(4));
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-" + width + "s  %-" + typeWidth + "s  %10s%n", "layer", "type",
                "SQNR (dB)"));
        for (LayerSqnr l : layers) {
            String value = Double.isInfinite(l.sqnrDb()) ? "exact" : String.format(Locale.ROOT, "%.2f", l.sqnrDb());
            sb.append(String.format(Locale.ROOT, "%-" + width + "s  %-" + typeWidth + "s  %10s%n", l.layer(), l.type(),
                    value));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "W%dA%d %s, ranges: activations %s, weights %s; %d ops quantized, %d kept"
                        + " fp32; calibration %d batches (%d samples) %s%n%s%s",
                weightBits, activationBits, granularity, activationMethod, weightMethod, quantizedOps.size(),
                keptFp32Ops.size(), calibrationBatches, calibrationSamples, timingText(),
                inputNormalization == null ? "" : "input normalizer built in (takes raw data): " + inputNormalization
                        + System.lineSeparator(),
                sqnrTable());
    }
}
