package org.quant4j.report.html;

import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.quant4j.report.LayerSqnr;
import org.quant4j.report.QuantizationReport;

/**
 * Renders {@link ReportData} as one self-contained HTML page: styles inline, charts as PNG data URIs, no script and
 * nothing fetched. The page opens with the three worst layers and why, then the charts, then the tables.
 */
public final class HtmlReport {

    private HtmlReport() {
    }

    public static String render(ReportData d) {
        QuantizationReport q = d.quantization();
        StringBuilder h = new StringBuilder(1 << 16);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>quant4j report: ")
                .append(esc(d.model())).append("</title>\n<style>\n")
                .append("body{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif;margin:24px;color:#1b2631;"
                        + "max-width:1140px}\n")
                .append("h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:28px;border-bottom:1px solid"
                        + " #d5d8dc}\n")
                .append("table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d5d8dc;padding:4px 8px;"
                        + "text-align:left;vertical-align:top}th{background:#f4f6f7}td.n{text-align:right}\n")
                .append(".worst td.db{color:#c0392b;font-weight:bold}.note{color:#566573;font-size:13px}\n")
                .append("img{display:block;margin:8px 0;border:1px solid #eaecee}.grid{display:flex;flex-wrap:wrap;"
                        + "gap:8px}\n</style></head><body>\n");
        h.append("<h1>quant4j report: ").append(esc(d.model())).append("</h1>\n<p class=\"note\">")
                .append(esc(String.format(Locale.ROOT, "W%dA%d, %s; ranges: activations %s, weights %s; %d ops "
                                + "quantized, %d kept fp32; calibration %d batches (%d samples) %s",
                        q.weightBits(), q.activationBits(), q.granularity(), q.activationMethod(), q.weightMethod(),
                        q.quantizedOps().size(), q.keptFp32Ops().size(), q.calibrationBatches(),
                        q.calibrationSamples(), q.timingText())))
                .append("</p>\n");
        if (q.inputNormalization() != null) {
            h.append("<p class=\"note\">").append(esc("input normalizer built in (the model takes raw data): "
                    + q.inputNormalization())).append("</p>\n");
        }

        h.append("<h2>The ").append(d.worstLayers().size()).append(" worst layers, and why</h2>\n")
                .append("<table class=\"worst\"><tr><th>layer</th><th>type</th><th>SQNR (dB)</th><th>why</th></tr>\n");
        for (ReportData.WorstLayer w : d.worstLayers()) {
            h.append("<tr><td>").append(esc(w.layer())).append("</td><td>").append(esc(w.type()))
                    .append("</td><td class=\"n db\">").append(db(w.sqnrDb())).append("</td><td>")
                    .append(String.join("<br>", w.reasons().stream().map(HtmlReport::esc).toList()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n<p class=\"note\">SQNR of a layer's output measures the error accumulated up to it; the "
                + "drop from the layer before is the error the layer itself adds.</p>\n");

        h.append("<h2>Accuracy and speed</h2>\n");
        accuracyAndSpeed(h, d);

        h.append("<h2>Per-layer SQNR</h2>\n");
        image(h, "per-layer SQNR", Charts.sqnr(q.layers(), ReportBuilder.WORST), Charts.SQNR_WIDTH, Charts.SQNR_HEIGHT);

        h.append("<h2>Ranges of ").append(esc(String.valueOf(d.chosenLayer()))).append("</h2>\n<p class=\"note\">")
                .append(esc(d.statisticsNote())).append("</p>\n");
        for (ReportData.ChannelRanges r : d.ranges()) {
            image(h, "ranges of " + r.tensor(), Charts.ranges(r), Charts.RANGES_WIDTH, Charts.RANGES_HEIGHT);
        }
        if (!d.channels().isEmpty()) {
            h.append("<h2>Channels of ").append(esc(d.channels().get(0).tensor()))
                    .append(": histogram, fitted PDF, ranges</h2>\n<div class=\"grid\">\n");
            for (ReportData.ChannelView v : d.channels()) {
                image(h, "histogram of channel " + v.channel(), Charts.histogram(v), Charts.SMALL_WIDTH,
                        Charts.SMALL_HEIGHT);
            }
            h.append("</div>\n");
        }
        h.append("<h2>PDF families</h2>\n<p class=\"note\">").append(esc(d.pdfFamiliesNote())).append("</p>\n");
        if (!d.pdfFamilies().isEmpty()) {
            image(h, "channels per PDF family", Charts.families(d.pdfFamilies()), Charts.SMALL_WIDTH,
                    Charts.SMALL_HEIGHT);
        }

        h.append("<h2>All layers</h2>\n<table><tr><th>layer</th><th>type</th><th>SQNR (dB)</th></tr>\n");
        for (LayerSqnr l : q.layers()) {
            h.append("<tr><td>").append(esc(l.layer())).append("</td><td>").append(esc(l.type()))
                    .append("</td><td class=\"n\">").append(db(l.sqnrDb())).append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (!q.keptFp32Ops().isEmpty()) {
            h.append("<p>Kept in fp32: ").append(esc(String.join(", ", q.keptFp32Ops()))).append("</p>\n");
        }
        h.append("<p class=\"note\">Written by quant4j. The data of this page is in report.json beside it.</p>\n")
                .append("</body></html>\n");
        return h.toString();
    }

    private static void accuracyAndSpeed(StringBuilder h, ReportData d) {
        ReportData.Accuracy a = d.accuracy();
        if (a == null) {
            h.append("<p class=\"note\">Accuracy not measured: <code>quant4j eval MODEL MODEL.q4j --report DIR</code>"
                    + " adds it.</p>\n");
        } else {
            h.append("<table><tr><th></th><th>fp32 (DL4J)</th><th>quantized</th></tr>\n")
                    .append(String.format(Locale.ROOT, "<tr><td>top-1 accuracy, %,d %s test images</td>"
                                    + "<td class=\"n\">%.2f%%</td><td class=\"n\">%.2f%%</td></tr>\n", a.images(),
                            esc(a.dataset()), 100 * a.fp32(), 100 * a.quantized()))
                    .append(String.format(Locale.ROOT, "<tr><td>top-1 agreement with fp32</td><td></td>"
                            + "<td class=\"n\">%.2f%%</td></tr>\n", 100 * a.agreement()))
                    .append(String.format(Locale.ROOT, "<tr><td>output SQNR against fp32</td><td></td>"
                            + "<td class=\"n\">%s dB</td></tr>\n</table>\n", db(a.outputSqnrDb())));
        }
        ReportData.Speed s = d.speed();
        if (s == null) {
            h.append("<p class=\"note\">Speed not measured: <code>quant4j bench MODEL MODEL.q4j --report DIR</code> "
                    + "adds a quick measurement.</p>\n");
        } else {
            h.append(String.format(Locale.ROOT, "<table><tr><th>quick timing (wall clock, not JMH), %d batches of %d"
                            + "</th><th>fp32 (DL4J)</th><th>quantized</th></tr>\n<tr><td>mean time per batch</td>"
                            + "<td class=\"n\">%.2f ms</td><td class=\"n\">%.2f ms</td></tr>\n<tr><td>quantized "
                            + "speed / fp32 speed</td><td></td><td class=\"n\">%.2fx</td></tr></table>\n",
                    s.batches(), s.batchSize(), s.fp32MsPerBatch(), s.quantizedMsPerBatch(), s.speedup()));
        }
    }

    private static void image(StringBuilder h, String alt, byte[] png, int width, int height) {
        h.append("<img alt=\"").append(esc(alt)).append("\" width=\"").append(width).append("\" height=\"")
                .append(height).append("\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(png)).append("\">\n");
    }

    private static String db(double v) {
        return Double.isInfinite(v) ? "exact" : Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }

    /** Escapes text for HTML element content and attribute values. */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** The images of a page, for tests: the base64 payloads of its PNG data URIs, in order. */
    public static List<byte[]> embeddedImages(String html) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"")
                .matcher(html);
        List<byte[]> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(Base64.getDecoder().decode(m.group(1)));
        }
        return out;
    }
}
