package org.quant4j.accuracy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.quant4j.Calibration;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.reference.ReferenceNetwork;

/**
 * The README's accuracy statements, measured on the committed reference networks and the real test sets: this test
 * is what makes them true, and it fails when one is made false.
 *
 * <ul>
 *   <li>W8A8 with the default options, on the fake-quant graph and on the int8 runtime alike, on every reference
 *       network (both sets): the top-1 drop from fp32 is at most {@value #MEAN_W8A8_DROP} points on the mean of
 *       {@value #W8A8_DRAWS} calibration draws (for the networks of {@link #MEAN_W8A8_DROP_APART}, their bound) and
 *       at most {@value #DRAW_W8A8_DROP} on every draw.</li>
 *   <li>The README's accuracy table (first set): every cell equals the mean measured here within
 *       {@value #TABLE_TOLERANCE} points (the runtimes' sums differ in order between instruction sets, which moves a
 *       few near-tie predictions); W8A8 and int8 over {@value #W8A8_DRAWS} draws, the 4-bit columns over
 *       {@value #FOUR_BIT_DRAWS}.</li>
 *   <li>At W4A4 the default beats MinMax per channel on the networks the table gives it for.</li>
 * </ul>
 * The measured table is printed, in the README's layout, to {@code target/accuracy-claims.md}.
 */
@Tag("slow")
class AccuracyClaimsTest {

    static final double MEAN_W8A8_DROP = 0.10;
    /** Networks whose W8A8 mean drop the README states apart, with its bound (none today). */
    static final Map<ReferenceNetwork, Double> MEAN_W8A8_DROP_APART = Map.of();
    static final double DRAW_W8A8_DROP = 0.30;
    static final double TABLE_TOLERANCE = 0.10;
    static final int W8A8_DRAWS = 4;
    static final int FOUR_BIT_DRAWS = 3;

    private static final Datasets DATA = Datasets.fromEnvironment();
    private static final Path MODELS = Path.of(System.getProperty("quant4j.models", "models"));
    private static final Path README = MODELS.toAbsolutePath().getParent().resolve("README.md");
    /** The README's name of each network of the first set, as its table's first column starts. */
    private static final Map<ReferenceNetwork, String> TABLE_NAMES = Map.of(
            ReferenceNetwork.MLP_MNIST, "MLP, MNIST",
            ReferenceNetwork.LENET_MNIST, "LeNet-5, MNIST",
            ReferenceNetwork.RESNET_FASHION, "ResNet-style, Fashion-MNIST",
            ReferenceNetwork.MOBILENET_FASHION, "MobileNet-style, Fashion-MNIST");
    private static final Map<ReferenceNetwork, String> MEASURED = new ConcurrentHashMap<>();

    /** Top-1 in points of a configuration over the draws, and the drops from fp32. */
    private record Measured(double fp32, List<Double> top1) {
        double mean() {
            return top1.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        }

        double meanDrop() {
            return fp32 - mean();
        }

        double worstDrop() {
            return fp32 - top1.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        }
    }

    @ParameterizedTest
    @EnumSource(ReferenceNetwork.class)
    void w8a8DefaultStaysWithinItsBudgetAndTheTableIsTheMeasurement(ReferenceNetwork net) throws IOException {
        Model model = ReferenceTraining.load(net, MODELS);
        AccuracyStudy.Settings settings = AccuracyStudy.Settings.of(List.of(net), MODELS);
        LabeledImages test = AccuracyStudy.data(net, settings, DATA).test();
        int[] labels = AccuracyStudy.argmax(test.labels());
        double fp32 = 100 * AccuracyStudy.accuracy(
                AccuracyStudy.predict(test, 500, f -> ReferenceTraining.fp32Output(model, f)), labels);
        boolean table = TABLE_NAMES.containsKey(net);
        List<Double> fakeQuant = new ArrayList<>();
        List<Double> int8 = new ArrayList<>();
        List<Double> w8a4 = new ArrayList<>();
        List<Double> w4a4 = new ArrayList<>();
        List<Double> w4a4MinMax = new ArrayList<>();
        for (int draw = 0; draw < W8A8_DRAWS; draw++) {
            LabeledImages calibration = AccuracyStudy.data(net, settings.draw(draw), DATA).calibration();
            Calibration stats = model instanceof MultiLayerNetwork m
                    ? Quantizer.calibrate(m, calibration.iterator(128), QuantizationOptions.defaults())
                    : Quantizer.calibrate((ComputationGraph) model, calibration.iterator(128),
                            QuantizationOptions.defaults());
            QuantizedModel q = stats.quantize(QuantizationOptions.defaults());
            fakeQuant.add(top1(q, QuantizedModel.Execution.FAKE_QUANT, test, labels));
            int8.add(top1(q, QuantizedModel.Execution.INT8, test, labels));
            if (table && draw < FOUR_BIT_DRAWS) {
                w8a4.add(top1(stats.quantize(QuantizationOptions.builder().activationBits(4).build()),
                        QuantizedModel.Execution.FAKE_QUANT, test, labels));
                w4a4.add(top1(stats.quantize(QuantizationOptions.builder().weightBits(4).activationBits(4).build()),
                        QuantizedModel.Execution.FAKE_QUANT, test, labels));
                w4a4MinMax.add(top1(stats.quantize(QuantizationOptions.builder().weightBits(4).activationBits(4)
                        .rangeMethod(org.quant4j.RangeMethod.MINMAX).granularity(Granularity.PER_CHANNEL).build()),
                        QuantizedModel.Execution.FAKE_QUANT, test, labels));
            }
        }
        Measured fq = new Measured(fp32, fakeQuant);
        Measured rt = new Measured(fp32, int8);
        MEASURED.put(net, String.format(Locale.ROOT, "| %s (%.2f %%) | %.2f | %s | %s | %s | %.2f | drops: W8A8 mean %.2f,"
                + " worst %.2f; int8 mean %.2f, worst %.2f |", net.id(), fp32, fq.mean(), cell(fp32, w8a4),
                cell(fp32, w4a4), cell(fp32, w4a4MinMax), rt.mean(), fq.meanDrop(), fq.worstDrop(), rt.meanDrop(),
                rt.worstDrop()));
        for (Measured m : List.of(fq, rt)) {
            String what = net.id() + (m == fq ? " W8A8 fake-quant " : " W8A8 int8 runtime ") + m.top1();
            double bound = MEAN_W8A8_DROP_APART.getOrDefault(net, MEAN_W8A8_DROP);
            assertTrue(m.meanDrop() <= bound, what + ": mean drop " + m.meanDrop() + " from " + fp32);
            assertTrue(m.worstDrop() <= DRAW_W8A8_DROP, what + ": worst drop " + m.worstDrop() + " from " + fp32);
        }
        if (table) {
            double[] row = readmeRow(TABLE_NAMES.get(net));
            double[] measured = {fp32, fq.mean(), new Measured(fp32, w8a4).mean(), new Measured(fp32, w4a4).mean(),
                    row[4], rt.mean()};
            if (!Double.isNaN(row[4])) {
                measured[4] = new Measured(fp32, w4a4MinMax).mean();
                assertTrue(measured[3] > measured[4], net.id() + ": W4A4 default " + measured[3]
                        + " does not beat MinMax per channel " + measured[4]);
            }
            for (int i = 0; i < row.length; i++) {
                assertTrue(Double.isNaN(row[i]) || Math.abs(row[i] - measured[i]) <= TABLE_TOLERANCE,
                        net.id() + ": README cell " + i + " says " + row[i] + ", measured " + measured[i]);
            }
        }
    }

    @AfterAll
    static void writeMeasuredTable() throws IOException {
        StringBuilder md = new StringBuilder("| network (fp32 top-1) | W8A8 | W8A4 | W4A4 | W4A4, MinMax per channel |"
                + " int8 runtime | |\n|---|---:|---:|---:|---:|---:|---|\n");
        for (ReferenceNetwork net : ReferenceNetwork.values()) {
            if (MEASURED.containsKey(net)) {
                md.append(MEASURED.get(net)).append('\n');
            }
        }
        Path out = Path.of("target", "accuracy-claims.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, md);
    }

    private static String cell(double fp32, List<Double> draws) {
        return draws.isEmpty() ? "-" : String.format(Locale.ROOT, "%.2f", new Measured(fp32, draws).mean());
    }

    private static double top1(QuantizedModel q, QuantizedModel.Execution execution, LabeledImages test,
            int[] labels) {
        return 100 * AccuracyStudy.accuracy(AccuracyStudy.predict(test, 500, f -> q.outputs(execution, f)[0]),
                labels);
    }

    /**
     * The README accuracy table's row of a network: fp32, W8A8, W8A4, W4A4, W4A4 MinMax per channel (NaN for "-"),
     * int8 runtime.
     */
    private static double[] readmeRow(String name) throws IOException {
        Pattern row = Pattern.compile("^\\| " + Pattern.quote(name) + " \\(([0-9.]+) %\\) \\| ([0-9.]+) \\| ([0-9.]+)"
                + " \\| ([0-9.]+) \\| ([0-9.]+|-) \\| ([0-9.]+) \\|$", Pattern.MULTILINE);
        Matcher m = row.matcher(Files.readString(README));
        assertTrue(m.find(), "README.md has no accuracy row for " + name);
        double[] values = new double[6];
        for (int i = 0; i < 6; i++) {
            values[i] = m.group(i + 1).equals("-") ? Double.NaN : Double.parseDouble(m.group(i + 1));
        }
        return values;
    }
}
