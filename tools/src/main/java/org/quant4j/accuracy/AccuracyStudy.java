package org.quant4j.accuracy;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.Calibration;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.ZeroPoints;
import org.quant4j.Quantizer;
import org.quant4j.cli.Progress;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.report.LayerSqnr;
import org.quant4j.reference.ReferenceNetwork;

/**
 * The accuracy study: for each reference network, calibrate on a few hundred TRAINING images, then measure top-1
 * on the 10,000 TEST images for fp32 (DL4J), for every range method x per-channel / per-tensor x W8A8, W8A4, W4A8,
 * W4A4 on the fake-quant graph, and for the default options on the int8 runtime.
 *
 * <p>A range method applies to activations and weights alike. Calibration runs once per network
 * ({@link Quantizer#calibrate}); every configuration is solved from the same statistics.
 */
public final class AccuracyStudy {

    /**
     * The range methods compared, each with the default options (bias correction on): the patent method
     * (also without bias correction), then the peers' calibrators.
     */
    public static final List<String> METHODS = List.of("patent", "patent+nobc", "minmax", "percentile-99.99",
            "entropy", "mse", "aciq");

    /**
     * The options builder for a method of {@link #METHODS}: {@code name}, or {@code activations/weights} to cross
     * two methods (e.g. {@code patent/minmax}), followed by any of the modifiers {@code +bc} or {@code +nobc} (bias
     * correction on or off, {@link QuantizationOptions#biasCorrection()}; without either, the default) and {@code +seq} or {@code +seqN} (sequential calibration with
     * 1 or N passes, {@link QuantizationOptions#sequentialPasses()}) and {@code +cle} (cross-layer equalization,
     * {@link QuantizationOptions#crossLayerEqualization()}) and {@code +zp} or {@code +zpon} (activation zero points
     * per point or everywhere, {@link QuantizationOptions#activationZeroPoints()}), {@code +ada} or {@code +adaN} (AdaRound with the default
     * or N iterations per layer, {@link QuantizationOptions#adaroundIterations()}). A single name sets weights as its authors do:
     * Entropy (TensorRT) and Percentile (PyTorch, TensorRT) are activation calibrators whose tools take weight
     * ranges from MinMax; the patent method, MinMax, MSE and ACIQ set both.
     */
    private static int adaroundIterations(String n) {
        int max = QuantizationOptions.MAX_ADAROUND_ITERATIONS;
        String message = "the N of +adaN must be in 0.." + max + ", got " + n;
        try {
            int value = Integer.parseInt(n);
            if (value > max) {
                throw new IllegalArgumentException(message);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(message);
        }
    }

    public static QuantizationOptions.Builder options(String method) {
        String[] parts = method.split("\\+");
        String name = parts[0];
        Boolean bc = null;
        int passes = 0;
        boolean cle = false;
        ZeroPoints zeroPoints = ZeroPoints.OFF;
        int adaround = 0;
        for (int i = 1; i < parts.length; i++) {
            if (parts[i].equals("cle")) {
                cle = true;
            } else if (parts[i].equals("zp") || parts[i].equals("zpon")) {
                zeroPoints = parts[i].equals("zp") ? ZeroPoints.PER_POINT : ZeroPoints.ON;
            } else if (parts[i].matches("ada\\d*")) {
                adaround = parts[i].length() == 3 ? QuantizationOptions.DEFAULT_ADAROUND_ITERATIONS
                        : adaroundIterations(parts[i].substring(3));
            } else if (parts[i].equals("bc") || parts[i].equals("nobc")) {
                bc = parts[i].equals("bc");
            } else if (parts[i].matches("seq\\d*")) {
                passes = parts[i].length() == 3 ? 1 : Integer.parseInt(parts[i].substring(3));
            } else {
                throw new IllegalArgumentException("unknown modifier '+" + parts[i] + "' in method '" + method
                        + "' (known: +bc, +nobc, +seq, +seqN, +cle, +zp, +zpon, +ada, +adaN)");
            }
        }
        int slash = name.indexOf('/');
        String activations = slash < 0 ? name : name.substring(0, slash);
        boolean activationOnly = activations.equals("entropy") || activations.startsWith("percentile");
        String weights = slash >= 0 ? name.substring(slash + 1) : activationOnly ? "minmax" : name;
        QuantizationOptions.Builder builder = QuantizationOptions.builder().activationRangeMethod(activations)
                .weightRangeMethod(weights).sequentialPasses(passes).crossLayerEqualization(cle)
                .activationZeroPoints(zeroPoints).adaround(adaround);
        return bc == null ? builder : builder.biasCorrection(bc);
    }

    /** Bit widths compared: {weight bits, activation bits}. */
    public static final List<int[]> BITS = List.of(new int[] {8, 8}, new int[] {8, 4}, new int[] {4, 8},
            new int[] {4, 4});

    /** Training images calibrated on, by default. */
    public static final int CALIBRATION_IMAGES = 512;
    /** The seed of the calibration images' draw, by default. */
    public static final long SEED = 42;

    /**
     * What to run.
     *
     * @param seed   the seed of the first calibration draw; draw d uses {@code seed + d}
     * @param draws  how many independent draws of calibration images; every configuration is calibrated and
     *               measured once per draw, and the tables give the mean (at 4 bits one draw's top-1 moves by
     *               about a point from draw to draw, more than the methods differ)
     */
    public record Settings(List<ReferenceNetwork> networks, Path models, int calibrationImages, long seed,
            int draws, List<String> methods, List<Granularity> granularities, List<int[]> bits, int testImages,
            int batchSize) {

        public Settings {
            if (draws < 1) {
                throw new IllegalArgumentException("draws must be at least 1, got " + draws);
            }
        }

        /**
         * The full study of {@code networks}: every method, the three activation granularities (per-point, the
         * default; per-channel; per-tensor), all bit widths, one draw of calibration images, 10,000 test images.
         */
        public static Settings of(List<ReferenceNetwork> networks, Path models) {
            return new Settings(networks, models, CALIBRATION_IMAGES, SEED, 1, METHODS,
                    List.of(Granularity.PER_POINT, Granularity.PER_CHANNEL, Granularity.PER_TENSOR), BITS, 10_000,
                    500);
        }

        /** The same settings with calibration draw {@code d} as the only draw. */
        public Settings draw(int d) {
            return new Settings(networks, models, calibrationImages, seed + d, 1, methods, granularities, bits,
                    testImages, batchSize);
        }
    }

    /**
     * One measured configuration.
     *
     * @param draw        the calibration draw (0 for fp32)
     * @param execution   "fp32", "fake-quant" or "int8"
     * @param top1        top-1 accuracy on the test images
     * @param agreement   top-1 agreement with fp32
     * @param worstLayer  the layer of lowest SQNR against fp32 (on the first calibration batch), or null
     * @param worstSqnrDb its SQNR
     */
    public record Row(String network, String method, String granularity, int weightBits, int activationBits,
            int draw, String execution, double top1, double agreement, String worstLayer, double worstSqnrDb,
            double seconds) {
    }

    /** One network's results. */
    public record NetworkResult(String network, String dataset, int calibrationImages, int testImages,
            String defaultMethod, List<Row> rows) {
    }

    private AccuracyStudy() {
    }

    public static List<NetworkResult> run(Settings settings, Datasets data, PrintStream log, Progress progress)
            throws java.io.IOException {
        List<NetworkResult> results = new ArrayList<>();
        for (ReferenceNetwork net : settings.networks()) {
            results.add(run(net, settings, data, log, progress));
        }
        return results;
    }

    /** One network's part of the study ({@code settings.networks()} is not read). */
    public static NetworkResult run(ReferenceNetwork net, Settings settings, Datasets data, PrintStream log,
            Progress progress) throws java.io.IOException {
        Model model = ReferenceTraining.load(net, settings.models());
        StudyData d = data(net, settings, data);
        LabeledImages test = d.test();
        List<Row> rows = new ArrayList<>();
        long start = System.nanoTime();
        int[] labels = argmax(test.labels());
        int[] fp32 = predict(test, settings.batchSize(), f -> ReferenceTraining.fp32Output(model, f));
        rows.add(new Row(net.id(), "-", "-", 32, 32, 0, "fp32", accuracy(fp32, labels), 1.0, null, Double.NaN,
                seconds(start)));

        int passes = settings.methods().stream().mapToInt(m -> options(m).build().sequentialPasses()).max()
                .orElse(0);
        QuantizationOptions calibrationOptions = QuantizationOptions.builder().calibrationBatches(Integer.MAX_VALUE)
                .sequentialPasses(passes).build();
        int total = settings.draws() * (settings.methods().size() * settings.granularities().size()
                * settings.bits().size() + int8ZeroPoints(settings.methods()).size());
        long samples = 0;
        try (ProgressBar bar = progress.start(net.id(), total, "configurations")) {
            for (int draw = 0; draw < settings.draws(); draw++) {
                LabeledImages calibration = draw == 0 ? d.calibration()
                        : data(net, settings.draw(draw), data).calibration();
                Calibration stats = calibrate(model, calibration, calibrationOptions);
                // Methods with +cle read a second calibration of the same images, on the equalized network.
                Calibration equalized = settings.methods().stream()
                        .anyMatch(m -> options(m).build().crossLayerEqualization())
                        ? calibrate(model, calibration, calibrationOptions.withCrossLayerEqualization(true)) : null;
                samples = stats.samples();
                log.printf(Locale.ROOT, "%s: fp32 top-1 %.2f%%; draw %d: calibrated on %d training images (seed %d) "
                        + "in %.1f s%n", net.id(), 100 * rows.get(0).top1(), draw, stats.samples(),
                        settings.seed() + draw, stats.millis() / 1e3);
                for (String method : settings.methods()) {
                    for (Granularity g : settings.granularities()) {
                        for (int[] bits : settings.bits()) {
                            long t = System.nanoTime();
                            QuantizationOptions o = options(method).granularity(g).weightBits(bits[0])
                                    .activationBits(bits[1]).build();
                            QuantizedModel q = (o.crossLayerEqualization() ? equalized : stats).quantize(o);
                            int[] predicted = predict(test, settings.batchSize(),
                                    f -> q.outputs(QuantizedModel.Execution.FAKE_QUANT, f)[0]);
                            rows.add(row(net, method, o, draw, "fake-quant", q, predicted, labels, fp32, t));
                            bar.step();
                        }
                    }
                }
                // The default options on the integer runtime (8-bit weights where exact, else 7: see Dnnl), also
                // with each zero-point setting a method asks for.
                for (ZeroPoints z : int8ZeroPoints(settings.methods())) {
                    long t = System.nanoTime();
                    QuantizationOptions o = QuantizationOptions.builder().activationZeroPoints(z).build();
                    QuantizedModel q = stats.quantize(o);
                    String label = o.activationRangeMethod().name() + (z == ZeroPoints.OFF ? ""
                            : z == ZeroPoints.ON ? "+zpon" : "+zp");
                    try {
                        int[] predicted = predict(test, settings.batchSize(),
                                f -> q.outputs(QuantizedModel.Execution.INT8, f)[0]);
                        rows.add(row(net, label, q.options(), draw, "int8", q, predicted, labels, fp32, t));
                    } catch (org.quant4j.QuantizationException e) {
                        log.printf("%s: no int8 runtime for %s (%s)%n", net.id(), label, e.getMessage());
                    }
                    bar.step();
                }
            }
        }
        log.printf(Locale.ROOT, "%s: %d configurations in %.0f s%n", net.id(), rows.size(), seconds(start));
        return new NetworkResult(net.id(), net.dataset().directoryName(), (int) samples, labels.length,
                QuantizationOptions.defaults().activationRangeMethod().name(), rows);
    }

    /** The zero-point settings the int8 runtime is measured with: off, then any other the methods name. */
    static List<ZeroPoints> int8ZeroPoints(List<String> methods) {
        java.util.Set<ZeroPoints> settings = new java.util.LinkedHashSet<>(List.of(ZeroPoints.OFF));
        methods.forEach(m -> settings.add(options(m).build().activationZeroPoints()));
        return List.copyOf(settings);
    }

    private static Calibration calibrate(Model model, LabeledImages calibration, QuantizationOptions options) {
        DataSetIterator data = calibration.iterator(128);
        return model instanceof MultiLayerNetwork m ? Quantizer.calibrate(m, data, options)
                : Quantizer.calibrate((ComputationGraph) model, data, options);
    }

    /** The images a network is calibrated on (training split) and tested on (test split). */
    public record StudyData(LabeledImages calibration, LabeledImages test) {
    }

    /**
     * The study's data for {@code net}: {@code calibrationImages} drawn with the seed from the TRAINING split, and
     * the first {@code testImages} of the TEST split (all 10,000 by default).
     */
    public static StudyData data(ReferenceNetwork net, Settings settings, Datasets data) {
        LabeledImages calibration = data.calibrationSet(net.dataset(), settings.calibrationImages(), settings.seed());
        LabeledImages test = settings.testImages() >= 10_000 ? data.evaluationSet(net.dataset())
                : data.load(net.dataset(), org.quant4j.data.Split.TEST,
                        org.quant4j.data.Subset.first(settings.testImages()));
        return new StudyData(calibration, test);
    }

    private static Row row(ReferenceNetwork net, String method, QuantizationOptions o, int draw, String execution,
            QuantizedModel q, int[] predicted, int[] labels, int[] fp32, long start) {
        LayerSqnr worst = q.report().worstLayers(1).stream().findFirst().orElse(null);
        return new Row(net.id(), method,
                o.activationGranularity().label(), o.weightBits(),
                o.activationBits(), draw, execution, accuracy(predicted, labels), accuracy(predicted, fp32),
                worst == null ? null : worst.layer(), worst == null ? Double.NaN : worst.sqnrDb(), seconds(start));
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** The top-1 class of every image, computed {@code batchSize} images at a time. */
    static int[] predict(LabeledImages images, int batchSize,
            java.util.function.Function<INDArray, INDArray> output) {
        int n = images.size();
        int[] result = new int[n];
        for (int from = 0; from < n; from += batchSize) {
            int to = Math.min(n, from + batchSize);
            INDArray features = images.features().get(NDArrayIndex.interval(from, to), NDArrayIndex.all(),
                    NDArrayIndex.all(), NDArrayIndex.all());
            int[] p = argmax(output.apply(features));
            System.arraycopy(p, 0, result, from, p.length);
        }
        return result;
    }

    static int[] argmax(INDArray scores) {
        INDArray idx = scores.argMax(1);
        int[] out = new int[(int) idx.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = idx.getInt(i);
        }
        return out;
    }

    /** The share of {@code predicted} equal to {@code reference}. */
    static double accuracy(int[] predicted, int[] reference) {
        int same = 0;
        for (int i = 0; i < predicted.length; i++) {
            same += predicted[i] == reference[i] ? 1 : 0;
        }
        return (double) same / predicted.length;
    }

    /**
     * The results as markdown: per network, top-1 (%) per method and granularity by bit widths; with several
     * calibration draws, the mean over the draws and (in parentheses) the standard deviation between them.
     */
    public static String markdown(List<NetworkResult> results) {
        StringBuilder md = new StringBuilder();
        for (NetworkResult r : results) {
            Row fp32 = r.rows().stream().filter(x -> x.execution().equals("fp32")).findFirst().orElseThrow();
            int draws = r.rows().stream().mapToInt(Row::draw).max().orElse(0) + 1;
            md.append(String.format(Locale.ROOT, "#### %s (%s): fp32 top-1 %.2f%%%n%n", r.network(), r.dataset(),
                    100 * fp32.top1()));
            if (draws > 1) {
                md.append(String.format(Locale.ROOT, "Mean top-1 of %d calibration draws (standard deviation).%n%n",
                        draws));
            }
            List<String> bitColumns = new ArrayList<>();
            Map<String, Map<String, List<Row>>> table = new LinkedHashMap<>();
            Map<String, List<Row>> int8 = new LinkedHashMap<>();
            for (Row x : r.rows()) {
                if (x.execution().equals("fake-quant")) {
                    String bits = "W" + x.weightBits() + "A" + x.activationBits();
                    if (!bitColumns.contains(bits)) {
                        bitColumns.add(bits);
                    }
                    table.computeIfAbsent(x.method() + " | " + x.granularity(), k -> new LinkedHashMap<>())
                            .computeIfAbsent(bits, k -> new ArrayList<>()).add(x);
                } else if (x.execution().equals("int8")) {
                    int8.computeIfAbsent(x.method(), k -> new ArrayList<>()).add(x);
                }
            }
            md.append("| method | granularity |");
            bitColumns.forEach(b -> md.append(' ').append(b).append(" |"));
            md.append('\n').append("|---|---|");
            bitColumns.forEach(b -> md.append("---:|"));
            md.append('\n');
            for (Map.Entry<String, Map<String, List<Row>>> e : table.entrySet()) {
                md.append("| ").append(e.getKey()).append(" |");
                for (String b : bitColumns) {
                    List<Row> x = e.getValue().get(b);
                    md.append(x == null ? " |" : " " + percent(x, Row::top1) + " |");
                }
                md.append('\n');
            }
            for (List<Row> rowsOfMethod : int8.values()) {
                Row first = rowsOfMethod.get(0);
                md.append(String.format(Locale.ROOT,
                        "%nint8 runtime (default options: %s, %s, W%dA%d): top-1 %s%%, agreement with fp32 %s%%%n",
                        first.method(), first.granularity(), first.weightBits(), first.activationBits(),
                        percent(rowsOfMethod, Row::top1), percent(rowsOfMethod, Row::agreement)));
            }
            md.append('\n');
        }
        return md.toString();
    }

    /** The mean of a measure over rows (draws) in percent, with the standard deviation when there are several. */
    private static String percent(List<Row> rows, java.util.function.ToDoubleFunction<Row> measure) {
        double[] v = rows.stream().mapToDouble(measure).map(x -> 100 * x).toArray();
        double mean = java.util.Arrays.stream(v).average().orElse(Double.NaN);
        if (v.length == 1) {
            return String.format(Locale.ROOT, "%.2f", mean);
        }
        double sd = Math.sqrt(new org.apache.commons.math3.stat.descriptive.moment.Variance().evaluate(v));
        return String.format(Locale.ROOT, "%.2f (%.2f)", mean, sd);
    }
}
