package org.quant4j.report.html;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.quant4j.report.LayerSqnr;

/** The report's charts (XChart), rendered to PNG bytes of fixed sizes. */
public final class Charts {

    /** Size of the per-layer SQNR chart. */
    public static final int SQNR_WIDTH = 1100;
    public static final int SQNR_HEIGHT = 420;
    /** Size of a per-channel range chart. */
    public static final int RANGES_WIDTH = 1100;
    public static final int RANGES_HEIGHT = 380;
    /** Size of a channel histogram and of the PDF family chart. */
    public static final int SMALL_WIDTH = 540;
    public static final int SMALL_HEIGHT = 340;

    private static final Color WORST = new Color(0xC0392B);
    private static final Color OTHER = new Color(0x2E86C1);
    private static final Color OBSERVED = new Color(0x7F8C8D);

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private Charts() {
    }

    /** Per-layer SQNR as bars, worst (lowest) first; the {@code worst} lowest in red. Exact layers are left out. */
    public static byte[] sqnr(List<LayerSqnr> layers, int worst) {
        List<LayerSqnr> sorted = layers.stream().filter(l -> Double.isFinite(l.sqnrDb()))
                .sorted(Comparator.comparingDouble(LayerSqnr::sqnrDb)).toList();
        CategoryChart chart = new CategoryChartBuilder().width(SQNR_WIDTH).height(SQNR_HEIGHT)
                .title("Per-layer SQNR against fp32, worst first (higher is better)").xAxisTitle("layer")
                .yAxisTitle("SQNR (dB)").build();
        style(chart.getStyler());
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setXAxisLabelRotation(sorted.size() > 12 ? 60 : 0);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        List<String> names = sorted.stream().map(LayerSqnr::layer).toList();
        if (names.isEmpty()) {
            names = List.of("(no finite SQNR)");
        }
        List<Double> worstValues = new ArrayList<>();
        List<Double> otherValues = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            double v = i < sorted.size() ? sorted.get(i).sqnrDb() : 0;
            worstValues.add(i < worst ? v : 0);
            otherValues.add(i < worst ? 0 : v);
        }
        chart.addSeries("the " + Math.min(worst, sorted.size()) + " worst", names, worstValues).setFillColor(WORST);
        chart.addSeries("other layers", names, otherValues).setFillColor(OTHER);
        return png(chart);
    }

    /** Clip range per channel against the observed extremes (when known), channels in index order. */
    public static byte[] ranges(ReportData.ChannelRanges r) {
        XYChart chart = new XYChartBuilder().width(RANGES_WIDTH).height(RANGES_HEIGHT)
                .title(String.format(Locale.ROOT, "%s %s: clip range per channel (%d-bit %s)",
                        r.kind().toLowerCase(Locale.ROOT), r.tensor(), r.bits(), r.signed() ? "signed" : "unsigned"))
                .xAxisTitle("channel").yAxisTitle("value").build();
        style(chart.getStyler());
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        double[] x = IntStream.range(0, r.hi().length).asDoubleStream().toArray();
        boolean dots = x.length <= 64;
        if (r.observedMax() != null) {
            line(chart, "observed max", x, r.observedMax(), OBSERVED, dots, SeriesLines.DOT_DOT);
            line(chart, "observed min", x, r.observedMin(), OBSERVED.brighter(), dots, SeriesLines.DOT_DOT);
        }
        line(chart, "clip hi", x, r.hi(), WORST, dots, SeriesLines.SOLID);
        line(chart, "clip lo", x, r.lo(), OTHER, dots, SeriesLines.SOLID);
        return png(chart);
    }

    private static void line(XYChart chart, String name, double[] x, double[] y, Color color, boolean dots,
            java.awt.BasicStroke stroke) {
        double[] xs = x.length == 1 ? new double[] {-0.5, 0.5} : x;
        double[] ys = y.length == 1 ? new double[] {y[0], y[0]} : y;
        XYSeries s = chart.addSeries(name, xs, ys);
        s.setLineColor(color);
        s.setMarkerColor(color);
        s.setLineStyle(stroke);
        s.setMarker(dots ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }

    /** A channel's histogram, the fitted PDF's expected counts and the ranges as vertical lines. */
    public static byte[] histogram(ReportData.ChannelView v) {
        XYChart chart = new XYChartBuilder().width(SMALL_WIDTH).height(SMALL_HEIGHT)
                .title(String.format(Locale.ROOT, "%s channel %d (%s)", v.tensor(), v.channel(), v.why()))
                .xAxisTitle("value" + (v.zerosLeftOut() > 0 ? " (" + v.zerosLeftOut() + " exact zeros left out)" : ""))
                .yAxisTitle("count").build();
        style(chart.getStyler());
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setLegendFont(chart.getStyler().getLegendFont().deriveFont(10f));
        int n = v.counts().length;
        double[] x = new double[n];
        double[] y = new double[n];
        double top = 1;
        for (int i = 0; i < n; i++) {
            x[i] = v.low() + (i + 0.5) * v.binWidth();
            y[i] = v.counts()[i];
            top = Math.max(top, y[i]);
        }
        XYSeries bars = chart.addSeries("histogram", x, y);
        bars.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
        bars.setFillColor(new Color(0x85C1E9));
        bars.setLineColor(OTHER);
        bars.setMarker(SeriesMarkers.NONE);
        if (v.pdfCounts() != null) {
            double[] pdf = v.pdfCounts().clone();
            for (int i = 0; i < n; i++) {
                pdf[i] = Math.min(pdf[i], 1.5 * top);
            }
            XYSeries fit = chart.addSeries("fitted " + v.family().toLowerCase(Locale.ROOT).replace('_', ' '), x, pdf);
            fit.setLineColor(Color.BLACK);
            fit.setMarker(SeriesMarkers.NONE);
        }
        vertical(chart, "clip range", top, WORST, SeriesLines.SOLID, v.clipLo(), v.clipHi());
        vertical(chart, "observed min/max", top, OBSERVED, SeriesLines.DOT_DOT, v.observedMin(), v.observedMax());
        if (v.first() != null) {
            vertical(chart, "first range", top, new Color(0x27AE60), SeriesLines.DASH_DASH, v.first());
            vertical(chart, "second range", top, new Color(0x8E44AD), SeriesLines.DASH_DOT, v.second());
            vertical(chart, "corrected", top, new Color(0xE67E22), SeriesLines.DASH_DASH, v.corrected());
        }
        return png(chart);
    }

    /** Vertical lines at {@code xs}, one series (NaN breaks the line between them). */
    private static void vertical(XYChart chart, String name, double top, Color color, java.awt.BasicStroke stroke,
            double... xs) {
        double[] x = new double[xs.length * 3];
        double[] y = new double[xs.length * 3];
        for (int i = 0; i < xs.length; i++) {
            x[3 * i] = xs[i];
            x[3 * i + 1] = xs[i];
            x[3 * i + 2] = Double.NaN;
            y[3 * i] = 0;
            y[3 * i + 1] = top;
            y[3 * i + 2] = Double.NaN;
        }
        XYSeries s = chart.addSeries(name, x, y);
        s.setLineColor(color);
        s.setLineStyle(stroke);
        s.setMarker(SeriesMarkers.NONE);
    }

    /** Channels per PDF family. */
    public static byte[] families(Map<String, Integer> counts) {
        CategoryChart chart = new CategoryChartBuilder().width(SMALL_WIDTH).height(SMALL_HEIGHT)
                .title("Channels per PDF family").xAxisTitle("family").yAxisTitle("channels").build();
        style(chart.getStyler());
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setXAxisLabelRotation(30);
        List<String> names = new ArrayList<>(counts.keySet());
        List<Integer> values = names.stream().map(counts::get).toList();
        if (names.isEmpty()) {
            names = List.of("(none)");
            values = List.of(0);
        }
        chart.addSeries("channels", names.stream().map(s -> s.toLowerCase(Locale.ROOT).replace('_', ' ')).toList(),
                values).setFillColor(OTHER);
        return png(chart);
    }

    private static void style(org.knowm.xchart.style.AxesChartStyler styler) {
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotBackgroundColor(Color.WHITE);
        styler.setPlotGridLinesColor(new Color(0xE5E7E9));
        styler.setChartTitleBoxVisible(false);
        styler.setLegendBorderColor(new Color(0xD5D8DC));
        styler.setToolTipsEnabled(false);
    }

    private static byte[] png(Chart<?, ?> chart) {
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("could not render the chart '" + chart.getTitle() + "'", e);
        }
    }
}
