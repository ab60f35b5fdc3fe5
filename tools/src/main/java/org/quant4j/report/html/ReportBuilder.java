package org.quant4j.report.html;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.math3.stat.descriptive.rank.Median;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizedModel;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.Histogram;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.FittedPdfRangeSolver;
import org.quant4j.range.RangeMethods;
import org.quant4j.range.pdf.PdfFit;
import org.quant4j.range.pdf.PdfFitter;
import org.quant4j.report.LayerSqnr;
import org.quant4j.report.QuantizationReport;
import org.quant4j.quantize.CalibrationStatistics;

/**
 * Builds {@link ReportData} from a quantized model and, when available, the calibration statistics it was made
 * from ({@link CalibrationStatistics}): without them the report has the SQNR and the clip ranges but no observed
 * extremes, histograms or PDF families.
 *
 * <p>Which layer is drawn: the quantized layer (one with a quantized weight) with the lowest SQNR, unless one is
 * named. Which channels of its activation input are drawn: the widest observed range, the median one, the
 * narrowest non-constant one, and the one whose observed span exceeds its clip range most (at most four, distinct).
 *
 * <p>The fitted PDF drawn over a histogram is the expected count per bin, {@code N' p(x) w}: {@code N'} the values
 * the fit describes (all of them; for a one-sided channel those that are not exactly zero), {@code w} the bin
 * width, {@code p(x)} the fitted density in channel units: {@code p_z((x - location) / scale) / scale} for a
 * two-sided channel, {@code 2 p_z(|x| / scale) / scale} for a one-sided one (see {@link PdfFit}).
 */
public final class ReportBuilder {

    /** Histograms in the report are merged down to at most this many bins. */
    public static final int HISTOGRAM_BINS = 96;
    /** How many of the worst layers are explained. */
    public static final int WORST = 3;

    private ReportBuilder() {
    }

    /**
     * @param model      what was quantized (shown in the title)
     * @param q          the quantized model
     * @param statistics its calibration statistics, or null
     * @param layer      the layer to draw, or null for the worst quantized layer
     */
    public static ReportData build(String model, QuantizedModel q, CalibrationStatistics statistics, String layer) {
        QuantizationReport report = q.report();
        Map<String, String> layerOfOp = layerOfOps(q.quantizations());
        Map<String, List<TensorQuantization>> inputsOfLayer = new LinkedHashMap<>();
        // A quantized layer's inputs: the activation its weights multiply (the weights name it), then the weights.
        Map<String, TensorQuantization> byTensor = new LinkedHashMap<>();
        q.quantizations().forEach(t -> byTensor.put(t.tensor(), t));
        for (TensorQuantization w : q.quantizations()) {
            if (w.kind() != TensorQuantization.Kind.WEIGHT) {
                continue;
            }
            for (String op : w.consumers()) {
                String l = layerOfOp.get(op);
                if (l == null) {
                    continue;
                }
                List<TensorQuantization> inputs = inputsOfLayer.computeIfAbsent(l, k -> new ArrayList<>());
                TensorQuantization activation = w.input() == null ? null : byTensor.get(w.input());
                if (activation != null && !inputs.contains(activation)) {
                    inputs.add(activation);
                }
                if (!inputs.contains(w)) {
                    inputs.add(w);
                }
            }
        }
        String chosen = chooseLayer(report, inputsOfLayer, layer);
        List<ReportData.WorstLayer> worst = worstLayers(report, inputsOfLayer, statistics);

        List<ReportData.ChannelRanges> ranges = new ArrayList<>();
        List<ReportData.ChannelView> channels = new ArrayList<>();
        FittedPdfRangeSolver patent = RangeMethods.names().contains(RangeMethods.canonical(report.activationMethod()))
                && RangeMethods.byName(report.activationMethod()) instanceof FittedPdfRangeSolver p ? p : null;
        for (TensorQuantization t : inputsOfLayer.getOrDefault(chosen, List.of())) {
            ChannelStatistics[] stats = statistics == null ? null : statistics.of(t.tensor());
            ranges.add(ranges(t, stats));
            if (stats != null && t.kind() == TensorQuantization.Kind.ACTIVATION) {
                for (Map.Entry<Integer, String> pick : pickChannels(stats, t).entrySet()) {
                    channels.add(view(t, pick.getKey(), pick.getValue(), stats[pick.getKey()], patent));
                }
            }
        }

        Map<String, Integer> families = new TreeMap<>();
        String familiesNote;
        String statisticsNote;
        if (statistics == null) {
            familiesNote = "not known: no calibration statistics (write the report with quantize --report, or give "
                    + "report the fp32 model and the calibration data)";
            statisticsNote = "No calibration statistics: clip ranges only, no observed extremes or histograms.";
        } else {
            PdfFitter fitter = new PdfFitter();
            for (TensorQuantization t : q.quantizations()) {
                ChannelStatistics[] stats = statistics.of(t.tensor());
                for (ChannelStatistics c : stats == null ? new ChannelStatistics[0] : stats) {
                    String name = c.count() < 2 || !(c.variance() > 0) ? "degenerate"
                            : (patent != null ? patent.solveDetailed(c, t.grid()).fit() : fitter.fit(c)).family().name();
                    families.merge(name, 1, Integer::sum);
                }
            }
            familiesNote = patent != null
                    ? "the PDF family the patent method chose per channel (activations and weights)"
                    : "the best-fitting PDF family per channel (activations and weights); informational: the "
                            + report.activationMethod() + " method does not use it";
            statisticsNote = "Observed statistics from the calibration data (" + report.calibrationBatches()
                    + " batches, " + report.calibrationSamples() + " samples), replayed through the fp32 network.";
        }
        return new ReportData(model, report, worst, chosen, ranges, channels, families, familiesNote, statisticsNote,
                null, null);
    }

    /** The layer of each quantized op: the layer part of its weight's name ({@code <layer>/W}). */
    private static Map<String, String> layerOfOps(List<TensorQuantization> quantizations) {
        Map<String, String> result = new LinkedHashMap<>();
        for (TensorQuantization t : quantizations) {
            if (t.kind() == TensorQuantization.Kind.WEIGHT) {
                int slash = t.tensor().indexOf('/');
                String layer = slash < 0 ? t.tensor() : t.tensor().substring(0, slash);
                t.consumers().forEach(op -> result.put(op, layer));
            }
        }
        return result;
    }

    private static String chooseLayer(QuantizationReport report, Map<String, List<TensorQuantization>> inputsOfLayer,
            String requested) {
        if (requested != null) {
            if (!inputsOfLayer.containsKey(requested)) {
                throw new QuantizationException("layer '" + requested + "' is not a quantized layer of this model; "
                        + "quantized layers: " + inputsOfLayer.keySet());
            }
            return requested;
        }
        return report.layers().stream().filter(l -> inputsOfLayer.containsKey(l.layer()))
                .filter(l -> !Double.isNaN(l.sqnrDb()))
                .min(Comparator.comparingDouble(LayerSqnr::sqnrDb)).map(LayerSqnr::layer)
                .orElse(inputsOfLayer.isEmpty() ? null : inputsOfLayer.keySet().iterator().next());
    }

    private static List<ReportData.WorstLayer> worstLayers(QuantizationReport report,
            Map<String, List<TensorQuantization>> inputsOfLayer, CalibrationStatistics statistics) {
        List<LayerSqnr> layers = report.layers();
        List<LayerSqnr> finite = layers.stream().filter(l -> Double.isFinite(l.sqnrDb()))
                .sorted(Comparator.comparingDouble(LayerSqnr::sqnrDb)).limit(WORST).toList();
        List<ReportData.WorstLayer> result = new ArrayList<>();
        for (LayerSqnr l : finite) {
            int index = layers.indexOf(l);
            double drop = index > 0 ? layers.get(index - 1).sqnrDb() - l.sqnrDb() : Double.NaN;
            List<String> reasons = new ArrayList<>();
            if (index > 0 && Double.isFinite(drop)) {
                reasons.add(String.format(Locale.ROOT, "%.2f dB %s than %s before it", Math.abs(drop),
                        drop >= 0 ? "lower" : "higher", layers.get(index - 1).layer()));
            }
            List<TensorQuantization> inputs = inputsOfLayer.get(l.layer());
            if (inputs == null) {
                String before = null;
                for (int i = index - 1; i >= 0 && before == null; i--) {
                    before = inputsOfLayer.containsKey(layers.get(i).layer()) ? layers.get(i).layer() : null;
                }
                reasons.add("runs in fp32 on dequantized values; its error comes from the quantized layers before"
                        + " it" + (before == null ? "" : " (the nearest: " + before + ")"));
                if (before != null) {
                    for (TensorQuantization t : inputsOfLayer.get(before)) {
                        reasons.add(before + "'s " + describe(t, statistics == null ? null : statistics.of(t.tensor())));
                    }
                }
            } else {
                for (TensorQuantization t : inputs) {
                    reasons.add(describe(t, statistics == null ? null : statistics.of(t.tensor())));
                }
            }
            result.add(new ReportData.WorstLayer(l.layer(), l.type(), l.sqnrDb(), drop, reasons));
        }
        return result;
    }

    /** One line on a quantized tensor: channels, grid, clip ranges and steps, clipping when known. */
    static String describe(TensorQuantization t, ChannelStatistics[] stats) {
        double[] extent = new double[t.hi().length];
        for (int c = 0; c < extent.length; c++) {
            extent[c] = Math.max(Math.abs(t.lo()[c]), Math.abs(t.hi()[c]));
        }
        double max = Arrays.stream(extent).max().orElse(0);
        double median = new Median().evaluate(extent);
        double step = 0;
        for (float s : t.scales()) {
            step = Math.max(step, s);
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "%s %s: %d %s, %d-bit %s, clip |x| up to %.4g (median %.4g%s), step up to %.3g",
                t.kind() == TensorQuantization.Kind.WEIGHT ? "weights" : "activation input", t.tensor(),
                t.scales().length, t.perTensor() ? "scale (per tensor)" : "channels", t.grid().bits(),
                t.hasZeroPoints() ? "asymmetric (zero points)" : t.grid().signed() ? "signed" : "unsigned", max, median,
                median > 0 && max / median >= 4 ? String.format(Locale.ROOT, "; widest %.0fx the median", max / median)
                        : "", step));
        if (stats != null) {
            int clipped = 0;
            for (int c = 0; c < stats.length; c++) {
                if (stats[c].max() > t.hi()[c] * (1 + 1e-6) + 1e-12 || stats[c].min() < t.lo()[c] * (1 + 1e-6) - 1e-12) {
                    clipped++;
                }
            }
            sb.append(String.format(Locale.ROOT, "; %d of %d channels clipped below their observed extremes",
                    clipped, stats.length));
        }
        return sb.toString();
    }

    private static ReportData.ChannelRanges ranges(TensorQuantization t, ChannelStatistics[] stats) {
        double[] min = null;
        double[] max = null;
        if (stats != null) {
            min = Arrays.stream(stats).mapToDouble(ChannelStatistics::min).toArray();
            max = Arrays.stream(stats).mapToDouble(ChannelStatistics::max).toArray();
        }
        return new ReportData.ChannelRanges(t.tensor(), t.kind().name(), t.grid().signed(), t.grid().bits(),
                t.lo().clone(), t.hi().clone(), min, max);
    }

    /** Up to four distinct channels worth looking at, with why each was picked. */
    static Map<Integer, String> pickChannels(ChannelStatistics[] stats, TensorQuantization t) {
        List<Integer> live = new ArrayList<>();
        for (int c = 0; c < stats.length; c++) {
            if (stats[c].count() >= 2 && stats[c].variance() > 0) {
                live.add(c);
            }
        }
        Map<Integer, String> picks = new LinkedHashMap<>();
        if (live.isEmpty()) {
            return picks;
        }
        live.sort(Comparator.comparingDouble(c -> stats[c].max() - stats[c].min()));
        picks.putIfAbsent(live.get(live.size() - 1), "widest observed range");
        picks.putIfAbsent(live.get(live.size() / 2), "median observed range");
        picks.putIfAbsent(live.get(0), "narrowest observed range");
        int mostClipped = live.stream().max(Comparator.comparingDouble(
                c -> (stats[c].max() - stats[c].min()) / Math.max(1e-30, t.hi()[c] - t.lo()[c]))).orElseThrow();
        picks.putIfAbsent(mostClipped, "observed span largest against its clip range");
        return picks;
    }

    /**
     * One channel's histogram with the PDF the patent solver chose for it (the maximum-likelihood fit for other
     * methods) and, for the patent method, its first, second and corrected ranges.
     */
    private static ReportData.ChannelView view(TensorQuantization t, int channel, String why, ChannelStatistics s,
            FittedPdfRangeSolver patent) {
        Histogram h = s.histogram();
        int first = h.firstNonEmpty();
        int last = h.lastNonEmpty();
        int factor = Math.max(1, (int) Math.ceil((last - first + 1) / (double) HISTOGRAM_BINS));
        int bins = (last - first) / factor + 1;
        long[] counts = new long[bins];
        for (int i = first; i <= last; i++) {
            counts[(i - first) / factor] += h.count(i);
        }
        double low = h.edge(first);
        double width = h.binWidth() * factor;

        FittedPdfRangeSolver.Result solved = patent == null ? null : patent.solveDetailed(s, t.grid());
        PdfFit fit = solved != null && solved.fit() != null ? solved.fit() : new PdfFitter().fit(s);
        long zerosLeftOut = 0;
        if (fit.side().oneSided() && fit.zeroFraction() > 0) {
            zerosLeftOut = s.zeros();
            int zeroBin = (int) Math.floor((0 - low) / width);
            if (zeroBin >= 0 && zeroBin < bins) {
                counts[zeroBin] = Math.max(0, counts[zeroBin] - zerosLeftOut);
            }
        }
        double described = s.count() * (1 - fit.zeroFraction());
        double[] pdf = new double[bins];
        for (int i = 0; i < bins; i++) {
            double x = low + (i + 0.5) * width;
            double density = fit.density(fit.toNormalized(x)) / fit.scale();
            pdf[i] = described * density * width;
        }
        Double firstRange = null;
        Double secondRange = null;
        Double correctedRange = null;
        if (solved != null) {
            FittedPdfRangeSolver.Result r = solved;
            if (r.fit() != null) {
                firstRange = r.fit().toChannel(r.first());
                secondRange = r.fit().toChannel(r.second());
                correctedRange = r.fit().toChannel(r.corrected());
            }
        }
        return new ReportData.ChannelView(t.tensor(), channel, why, low, width, counts, zerosLeftOut, pdf,
                fit.family().name(), s.min(), s.max(), t.lo()[channel], t.hi()[channel], firstRange, secondRange,
                correctedRange);
    }
}
