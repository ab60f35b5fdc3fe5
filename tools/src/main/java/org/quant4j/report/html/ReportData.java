package org.quant4j.report.html;

import java.util.List;
import java.util.Map;
import org.quant4j.report.QuantizationReport;

/**
 * Everything a quantization report shows, as plain data: written as {@code report.json} and rendered as
 * {@code index.html} ({@link HtmlReport}). Built by {@link ReportBuilder}; {@code eval} and {@code bench} fill in
 * {@link #accuracy} and {@link #speed} later ({@link #withAccuracy}, {@link #withSpeed}).
 *
 * @param model         what was quantized (file or zoo name)
 * @param quantization  the model's own report: options, timings, per-layer SQNR
 * @param worstLayers   the layers with the lowest finite SQNR, worst first, with what explains them
 * @param chosenLayer   the layer whose ranges and channels are drawn
 * @param ranges        per-channel clip ranges (and observed extremes, when known) of the chosen layer's inputs
 * @param channels      a few channels of the chosen layer's activation input: histogram, fitted PDF, ranges
 * @param pdfFamilies   number of channels per PDF family (empty when no statistics were collected)
 * @param pdfFamiliesNote what the family counts mean for this model's range method
 * @param statisticsNote  where the observed statistics come from, or why there are none
 * @param accuracy      accuracy of fp32 and quantized on a test split, when measured ({@code quant4j eval})
 * @param speed         quick latency measurement, when measured ({@code quant4j bench})
 */
public record ReportData(String model, QuantizationReport quantization, List<WorstLayer> worstLayers,
        String chosenLayer, List<ChannelRanges> ranges, List<ChannelView> channels, Map<String, Integer> pdfFamilies,
        String pdfFamiliesNote, String statisticsNote, Accuracy accuracy, Speed speed) {

    public ReportData {
        worstLayers = List.copyOf(worstLayers);
        ranges = List.copyOf(ranges);
        channels = List.copyOf(channels);
        pdfFamilies = Map.copyOf(pdfFamilies);
    }

    public ReportData withAccuracy(Accuracy a) {
        return new ReportData(model, quantization, worstLayers, chosenLayer, ranges, channels, pdfFamilies,
                pdfFamiliesNote, statisticsNote, a, speed);
    }

    public ReportData withSpeed(Speed s) {
        return new ReportData(model, quantization, worstLayers, chosenLayer, ranges, channels, pdfFamilies,
                pdfFamiliesNote, statisticsNote, accuracy, s);
    }

    /**
     * One of the worst layers.
     *
     * @param layer   layer name
     * @param type    layer type
     * @param sqnrDb  SQNR of its output against fp32 (accumulated error up to this layer)
     * @param dropDb  how much lower than the previous layer's SQNR (the error this layer adds); NaN for the first
     * @param reasons what explains it: its quantized inputs, their ranges and steps, or the quantized layer before it
     */
    public record WorstLayer(String layer, String type, double sqnrDb, double dropDb, List<String> reasons) {
        public WorstLayer {
            reasons = List.copyOf(reasons);
        }
    }

    /**
     * The per-channel ranges of one quantized tensor.
     *
     * @param tensor      graph variable
     * @param kind        ACTIVATION or WEIGHT
     * @param signed      whether its grid is signed
     * @param bits        its bit width
     * @param lo          clip range lower end per channel
     * @param hi          clip range upper end per channel
     * @param observedMin observed minimum per channel (null when no statistics were collected)
     * @param observedMax observed maximum per channel (null when no statistics were collected)
     */
    public record ChannelRanges(String tensor, String kind, boolean signed, int bits, double[] lo, double[] hi,
            double[] observedMin, double[] observedMax) {
    }

    /**
     * One channel drawn as a histogram with its fitted PDF and ranges, all in channel units.
     *
     * @param tensor       graph variable
     * @param channel      channel index
     * @param why          why this channel was picked (e.g. "widest observed range")
     * @param low          left edge of the first bin
     * @param binWidth     bin width
     * @param counts       values per bin (exact zeros left out when the fit sets them aside)
     * @param zerosLeftOut exact zeros left out of {@code counts}
     * @param pdfCounts    expected count per bin under the fitted PDF (null when the channel is degenerate)
     * @param family       the fitted PDF family (null when degenerate)
     * @param observedMin  observed minimum
     * @param observedMax  observed maximum
     * @param clipLo       clip range lower end (as stored in the model)
     * @param clipHi       clip range upper end (as stored in the model)
     * @param first        patent method: first range (upper end), channel units; null for other methods
     * @param second       patent method: second range (upper end)
     * @param corrected    patent method: corrected range (upper end)
     */
    public record ChannelView(String tensor, int channel, String why, double low, double binWidth, long[] counts,
            long zerosLeftOut, double[] pdfCounts, String family, double observedMin, double observedMax,
            double clipLo, double clipHi, Double first, Double second, Double corrected) {
    }

    /**
     * Accuracy on a test split.
     *
     * @param dataset      data set name
     * @param images       test images
     * @param fp32         top-1 accuracy of the fp32 network
     * @param quantized    top-1 accuracy of the quantized model
     * @param agreement    share of images where both predict the same class
     * @param outputSqnrDb SQNR of the quantized output against fp32 over the test images
     */
    public record Accuracy(String dataset, int images, double fp32, double quantized, double agreement,
            double outputSqnrDb) {
    }

    /**
     * A quick latency measurement (plain wall-clock timing, not JMH).
     *
     * @param batches            timed batches
     * @param batchSize          images per batch
     * @param fp32MsPerBatch     mean milliseconds per batch, DL4J fp32
     * @param quantizedMsPerBatch mean milliseconds per batch, quantized model
     */
    public record Speed(int batches, int batchSize, double fp32MsPerBatch, double quantizedMsPerBatch) {

        /** How many times faster the quantized model ran (below 1: slower). */
        public double speedup() {
            return fp32MsPerBatch / quantizedMsPerBatch;
        }
    }
}
