package org.quant4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.commons.math3.stat.regression.OLSMultipleLinearRegression;
import org.apache.commons.math3.stat.regression.SimpleRegression;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Plots the {@code RESULT} lines of {@code quantize-memory} result files ({@link QuantizeMemory}): quantization time
 * and peak resident set against the work of a model, {@code parameters + activation values of one calibration pass},
 * one point per file, with the bound of issue 27 ({@code 3 x fp32 parameter bytes + 1 GB}); prints each point and the
 * least-squares fits of time and of peak memory against that size, and their log-log slopes.
 *
 * <p>Usage: {@code QuantizeMemoryPlot OUT.png FILE...}. A file's label is its name without
 * {@code quantize-memory-} and {@code .txt}; its activation values come from its {@code activations=} field.
 */
public final class QuantizeMemoryPlot {

    private static final Pattern RESULT = Pattern.compile("RESULT model=(\\S+) params=(\\d+) quantize_s=([0-9.]+)"
            + " quantize_peak_rss_mb=(\\d+).* bound_mb=(\\d+)(?: activations=(\\d+))?");

    /** One measured quantization. */
    record Point(String label, long params, long activations, double seconds, double peakMb, double boundMb) {
        /** Parameters plus the activation values of one calibration pass, in millions. */
        double millions() {
            return (params + activations) / 1e6;
        }
    }

    private QuantizeMemoryPlot() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: QuantizeMemoryPlot OUT.png FILE...");
            System.exit(2);
        }
        List<Point> points = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            points.add(read(Path.of(args[i])));
        }
        points.sort(java.util.Comparator.comparingDouble(Point::millions));
        for (Point p : points) {
            System.out.printf(Locale.ROOT, "%-24s %10.1f M params %10.1f M activations %8.1f s %8.0f MB peak"
                    + " %8.0f MB bound%n", p.label(), p.params() / 1e6, p.activations() / 1e6, p.seconds(),
                    p.peakMb(), p.boundMb());
        }
        System.out.println(fit("time (s)", points, Point::seconds));
        System.out.println(fit("peak (MB)", points, Point::peakMb));
        write(points, Path.of(args[0]));
    }

    static Point read(Path file) throws IOException {
        try (Stream<String> lines = Files.lines(file)) {
            for (String line : (Iterable<String>) lines::iterator) {
                Matcher m = RESULT.matcher(line);
                if (m.find()) {
                    String label = file.getFileName().toString().replace("quantize-memory-", "")
                            .replace(".txt", "");
                    return new Point(label, Long.parseLong(m.group(2)),
                            m.group(6) == null ? 0 : Long.parseLong(m.group(6)), Double.parseDouble(m.group(3)),
                            Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5)));
                }
            }
        }
        throw new IOException(file + ": no RESULT line");
    }

    /**
     * The least-squares fit {@code y = a + b P + c A} (P parameters and A activation values, in millions), its
     * R^2, and the log-log slope of {@code y} against {@code P + A}: at most 1 when {@code y} grows at most linearly.
     */
    static String fit(String what, List<Point> points, java.util.function.ToDoubleFunction<Point> y) {
        double[] ys = points.stream().mapToDouble(y).toArray();
        double[][] xs = points.stream().map(p -> new double[] {p.params() / 1e6, p.activations() / 1e6})
                .toArray(double[][]::new);
        OLSMultipleLinearRegression linear = new OLSMultipleLinearRegression();
        linear.newSampleData(ys, xs);
        double[] beta = linear.estimateRegressionParameters();
        SimpleRegression logLog = new SimpleRegression();
        for (Point p : points) {
            logLog.addData(Math.log(p.millions()), Math.log(y.applyAsDouble(p)));
        }
        return String.format(Locale.ROOT, "%s = %.3g + %.4g per M parameters + %.4g per M activation values,"
                + " R^2 %.3f; log-log slope against parameters + activation values %.2f", what, beta[0], beta[1],
                beta[2], linear.calculateRSquared(), logLog.getSlope());
    }

    private static void write(List<Point> points, Path out) throws IOException {
        XYChart time = chart("Quantization time", "time (s)");
        XYChart memory = chart("Peak resident set of quantize", "peak RSS (MB)");
        double[] x = points.stream().mapToDouble(Point::millions).toArray();
        add(time, "measured", x, points.stream().mapToDouble(Point::seconds).toArray());
        add(memory, "measured", x, points.stream().mapToDouble(Point::peakMb).toArray());
        XYSeries bound = memory.addSeries("bound of each model: 3 x fp32 parameters + 1 GB", x,
                points.stream().mapToDouble(Point::boundMb).toArray());
        bound.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        bound.setMarker(SeriesMarkers.DIAMOND);
        Files.createDirectories(out.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(List.of(time, memory), 1, 2, out.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart chart = new XYChartBuilder().width(560).height(400).title(title)
                .xAxisTitle("parameters + activation values (millions)").yAxisTitle(yTitle).build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        return chart;
    }

    private static void add(XYChart chart, String name, double[] x, double[] y) {
        XYSeries s = chart.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    }
}
