package org.quant4j.report.html;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.ClipRange;
import org.quant4j.range.RangeMethods;
import org.quant4j.quantize.CalibrationStatistics;

/**
 * The HTML report of a small CNN quantized with the patent method: its embedded charts decode to PNGs of the expected
 * sizes that are not blank, and headless Chromium renders the page to a non-blank screenshot. Also: the statistics
 * replayed for the report are those the ranges were solved from.
 */
class HtmlReportBrowserTest {

    @TempDir
    static Path dir;
    static MultiLayerNetwork net;
    static QuantizedModel q;
    static CalibrationStatistics statistics;
    static ReportData data;

    @BeforeAll
    static void quantize() {
        net = TestNetworks.cnn(); // flat 784 inputs, conv, BN, pool, dense
        QuantizationOptions options = QuantizationOptions.builder().rangeMethod("patent").build();
        q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 3, 5L), options);
        statistics = CalibrationStatistics.collect(Dl4jConverter.convert(net), q.quantizations(),
                FeatureBatches.of(TestNetworks.randomIterator(16, 784, 10, 3, 5L)),
                q.report().calibrationBatches());
        data = ReportBuilder.build("test CNN", q, statistics, null)
                .withAccuracy(new ReportData.Accuracy("mnist", 100, 0.9, 0.89, 0.98, 30.5))
                .withSpeed(new ReportData.Speed(5, 8, 2.0, 4.0));
    }

    @Test
    void replayedStatisticsReproduceTheModelsRanges() {
        for (TensorQuantization t : q.quantizations()) {
            ChannelStatistics[] channels = statistics.of(t.tensor());
            assertEquals(t.hi().length, channels.length, t.tensor());
            for (int c = 0; c < channels.length; c++) {
                ClipRange r = RangeMethods.byName("patent").solve(channels[c], t.grid());
                assertEquals(t.lo()[c], r.lo(), 1e-9 * Math.max(1, Math.abs(r.lo())), t.tensor() + " channel " + c);
                assertEquals(t.hi()[c], r.hi(), 1e-9 * Math.max(1, Math.abs(r.hi())), t.tensor() + " channel " + c);
            }
        }
    }

    @Test
    void reportNamesTheWorstLayersWithTheirReasons() {
        assertEquals(ReportBuilder.WORST, data.worstLayers().size());
        double previous = Double.NEGATIVE_INFINITY;
        for (ReportData.WorstLayer w : data.worstLayers()) {
            assertTrue(w.sqnrDb() >= previous, "worst first");
            previous = w.sqnrDb();
            assertTrue(!w.reasons().isEmpty(), w.layer());
        }
        assertTrue(data.channels().stream().allMatch(v -> v.first() != null && v.corrected() >= v.first() - 1e-12),
                "patent ranges on every drawn channel");
        assertEquals(data.pdfFamilies().values().stream().mapToInt(Integer::intValue).sum(),
                q.quantizations().stream().mapToInt(t -> t.hi().length).sum(), "every channel counted once");
    }

    @Test
    void jsonRoundTrip() throws IOException {
        Path out = dir.resolve("json");
        ReportFiles.write(out, data);
        ReportData back = ReportFiles.read(out);
        assertEquals(data.worstLayers(), back.worstLayers());
        assertEquals(data.accuracy(), back.accuracy());
        assertArrayEquals(data.channels().get(0).counts(), back.channels().get(0).counts());
    }

    @Test
    void rewritingAReportLeavesTwoWholeFilesWithPlainPermissions() throws IOException {
        Path out = dir.resolve("rewritten");
        ReportFiles.write(out, data);
        ReportFiles.write(out, data.withAccuracy(new ReportData.Accuracy("mnist", 100, 0.9, 0.8, 0.9, 20.0)));
        assertEquals(0.8, ReportFiles.read(out).accuracy().quantized());
        try (java.util.stream.Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(ReportFiles.HTML, ReportFiles.JSON),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file left");
        }
        assumeTrue(Files.getFileStore(out).supportsFileAttributeView(
                java.nio.file.attribute.PosixFileAttributeView.class), "not POSIX");
        var plain = Files.getPosixFilePermissions(Files.createFile(dir.resolve("plain")));
        assertEquals(plain, Files.getPosixFilePermissions(out.resolve(ReportFiles.JSON)));
        assertEquals(plain, Files.getPosixFilePermissions(out.resolve(ReportFiles.HTML)));
    }

    @Test
    void embeddedChartsAreNonBlankAndOfTheExpectedSize() throws IOException {
        String html = HtmlReport.render(data);
        List<byte[]> images = HtmlReport.embeddedImages(html);
        // SQNR, one range chart per input of the chosen layer (activation and weight), the channels, the families
        int expected = 1 + data.ranges().size() + data.channels().size() + 1;
        assertEquals(expected, images.size());
        List<int[]> sizes = new ArrayList<>();
        sizes.add(new int[] {Charts.SQNR_WIDTH, Charts.SQNR_HEIGHT});
        data.ranges().forEach(r -> sizes.add(new int[] {Charts.RANGES_WIDTH, Charts.RANGES_HEIGHT}));
        data.channels().forEach(v -> sizes.add(new int[] {Charts.SMALL_WIDTH, Charts.SMALL_HEIGHT}));
        sizes.add(new int[] {Charts.SMALL_WIDTH, Charts.SMALL_HEIGHT});
        for (int i = 0; i < images.size(); i++) {
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(images.get(i)));
            assertEquals(sizes.get(i)[0], image.getWidth(), "image " + i);
            assertEquals(sizes.get(i)[1], image.getHeight(), "image " + i);
            assertNotBlank(image, "image " + i);
        }
    }

    @Test
    void chromiumRendersTheReport() throws Exception {
        String chromium = findChromium();
        // In CI (CI=true, where .ci/run installs Chromium) a missing browser fails; elsewhere the test is skipped.
        if (System.getenv("CI") != null) {
            assertTrue(chromium != null, "chromium is not installed although CI is set: .ci/run installs it");
        }
        assumeTrue(chromium != null, "chromium is not installed (Debian package chromium; .ci/run installs it)");
        Path out = dir.resolve("browser");
        Path html = ReportFiles.write(out, data);
        Path profile = Files.createTempDirectory(dir, "chromium-profile");
        Path shot = out.resolve("screenshot.png");
        Process p = new ProcessBuilder(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--screenshot=" + shot, "--window-size=1200,2000",
                html.toUri().toString()).redirectErrorStream(true).redirectOutput(out.resolve("chromium.log").toFile())
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish in 120 s");
        assertTrue(Files.isRegularFile(shot), "no screenshot; chromium said: "
                + Files.readString(out.resolve("chromium.log")));
        BufferedImage image = ImageIO.read(shot.toFile());
        assertEquals(1200, image.getWidth());
        assertEquals(2000, image.getHeight());
        assertNotBlank(image, "screenshot");
    }

    private static String findChromium() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (new File(candidate).canExecute()) {
                return candidate;
            }
        }
        return null;
    }

    /** Luminance variance above a floor, and both light and dark pixels present. */
    static void assertNotBlank(BufferedImage image, String what) {
        double sum = 0;
        double sumSq = 0;
        long dark = 0;
        long n = (long) image.getWidth() * image.getHeight();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                double l = 0.299 * ((rgb >> 16) & 0xFF) + 0.587 * ((rgb >> 8) & 0xFF) + 0.114 * (rgb & 0xFF);
                sum += l;
                sumSq += l * l;
                dark += l < 128 ? 1 : 0;
            }
        }
        double mean = sum / n;
        double variance = sumSq / n - mean * mean;
        assertTrue(variance > 100, what + ": luminance variance " + variance + " (blank?)");
        assertTrue(dark > n / 1000, what + ": " + dark + " dark pixels of " + n);
    }
}
