package org.quant4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.quant4j.AccuracyBudget;
import org.quant4j.BudgetedModel;
import org.quant4j.Granularity;
import org.quant4j.ZeroPoints;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.ValidationMetric;
import org.quant4j.cli.data.DataSources;
import org.quant4j.cli.data.LabeledData;
import org.quant4j.range.RangeMethods;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code quant4j quantize MODEL}: calibrate on a data set, solve ranges, save the quantized model (.q4j). */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Quantize a DL4J network: calibrate on training images of a data set (or on your own data: a "
                + "folder of images, a CSV, .npy or .npz file), solve a clip range per channel, save the quantized "
                + "model (.q4j) and print the per-layer SQNR.",
                "MODEL is a DL4J model file (ModelSerializer zip: MultiLayerNetwork or ComputationGraph) or a DL4J zoo "
                        + "model name (LeNet, SimpleCNN, ...; random weights from --seed, 1x28x28 inputs or "
                        + "--input-shape, 10 classes)."})
final class QuantizeCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "DL4J model file or zoo model name.")
    String model;

    @Mixin
    NormalizerOption normalizerOption;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "The quantized model to write (default: MODEL's name with .q4j, in the current directory).")
    Path output;

    @Option(names = "--calibration", defaultValue = "mnist", paramLabel = "DATA",
            description = "Calibration data: mnist | fashion-mnist | a folder of images (class subfolders) | a .csv, "
                    + ".npy or .npz file (default: ${DEFAULT-VALUE}).")
    String calibration;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--dynamic", description = "Dynamic quantization, without calibration data: dense and "
            + "recurrent weights int8 per output channel, each of their inputs quantized per call from its own "
            + "range; convolutions stay fp32. --calibration and the options that need data are not read.")
    boolean dynamic;

    @Option(names = "--sequence-length", paramLabel = "STEPS",
            description = "With --dynamic: the sequence length a recurrent network is unrolled over.")
    Integer sequenceLength;

    @Option(names = "--calibration-images", defaultValue = "512", paramLabel = "N",
            description = "Training images used for calibration, 1.." + OptionBounds.TRAINING_IMAGES
                    + " (default: ${DEFAULT-VALUE}).")
    int calibrationImages;

    @Option(names = "--calibration-seed", defaultValue = "7", paramLabel = "SEED", hidden = true,
            description = "Seed of the random choice of calibration images (default: ${DEFAULT-VALUE}).")
    long calibrationSeed;

    @Option(names = "--batch-size", defaultValue = "64", paramLabel = "N",
            description = "Calibration batch size, 1.." + OptionBounds.TRAINING_IMAGES + " (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--method", paramLabel = "METHOD",
            description = "Range method of activations and weights: minmax | percentile-99.99 | percentile-99.999 | "
                    + "entropy | mse | aciq | patent | patent-ml | patent-lg | patent-folded (default: "
                    + RangeMethods.FITTED_PDF + "; with --preset w4, mse for the weights).")
    String method;

    @Option(names = "--bias-correction", negatable = true,
            description = "Subtract each layer's mean output shift, measured on the calibration images, from its bias "
                    + "(default: on; --no-bias-correction turns "
                    + "it off).")
    Boolean biasCorrection;

    @Option(names = "--sequential-passes", defaultValue = "0", paramLabel = "N",
            description = "Observe the activations N more times on the quantized network and solve their ranges "
                    + "anew, 0.." + OptionBounds.MAX_SEQUENTIAL_PASSES + " (default: ${DEFAULT-VALUE}).")
    int sequentialPasses;

    @Option(names = "--cross-layer-equalization", description = "Even out the weight ranges of consecutive layers "
            + "(conv/dense -> ReLU -> conv/dense) before calibrating; the fp32 network computes the same.")
    boolean crossLayerEqualization;

    @Option(names = "--zero-points", defaultValue = "off", paramLabel = "Z",
            description = "Activation zero points (asymmetric grid) at points holding negative values: off | per-point"
                    + " (where they lower the measured consumer error) | on (default: ${DEFAULT-VALUE}).")
    String zeroPoints;

    @Option(names = "--adaround", arity = "0..1", paramLabel = "N",
            fallbackValue = "" + QuantizationOptions.DEFAULT_ADAROUND_ITERATIONS,
            description = "Learn whether each weight rounds up or down (AdaRound), N iterations per layer, 1.."
                    + QuantizationOptions.MAX_ADAROUND_ITERATIONS + " (N left out: "
                    + QuantizationOptions.DEFAULT_ADAROUND_ITERATIONS + "; default: off).")
    Integer adaround;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Start from a preset: w4 (4-bit weights with MSE ranges and learned rounding, 8-bit "
                    + "activations: QuantizationOptions.fourBit()); the other options given change it.")
    String preset;

    @Option(names = "--weight-bits", paramLabel = "BITS",
            description = "Weight bits, 2..8 (default: 8, or 7 on CPUs without VNNI, where 8-bit int8 kernels "
                    + "would saturate).")
    Integer weightBits;

    @Option(names = "--activation-bits", defaultValue = "8", paramLabel = "BITS",
            description = "Activation bits, 2..8 (default: ${DEFAULT-VALUE}).")
    int activationBits;

    @Option(names = "--granularity", defaultValue = "per-point", paramLabel = "G",
            description = "per-point (activations per-channel or per-tensor, chosen per point; weights per-channel)"
            + " | per-channel | per-tensor (default: ${DEFAULT-VALUE}).")
    String granularity;

    @Option(names = "--keep-fp32", split = ",", paramLabel = "LAYER",
            description = "Layers to leave in fp32 (comma-separated DL4J layer names).")
    List<String> keepFp32 = List.of();

    @Option(names = "--max-accuracy-drop", paramLabel = "POINTS",
            description = "Keep the fewest layers in fp32 for a top-1 drop of at most POINTS on --validation data "
                    + "(at --confidence), most sensitive first; an error, and nothing saved, when no model meets it.")
    Double maxAccuracyDrop;

    @Option(names = "--validation", paramLabel = "DATA",
            description = "Validation data for --max-accuracy-drop: a data set name (training images that are not "
                    + "calibration images) or your own data (default: the calibration data set; your own data must be "
                    + "given, other than the calibration file).")
    String validation;

    @Option(names = "--validation-images", defaultValue = "2000", paramLabel = "N",
            description = "Validation examples, 1.." + OptionBounds.TRAINING_IMAGES + " (default: ${DEFAULT-VALUE}).")
    int validationImages;

    @Option(names = "--confidence", defaultValue = "0.9", paramLabel = "C",
            description = "How sure --max-accuracy-drop must be that the drop is within it, 0.5..0.999: the drop's "
                    + "upper confidence bound on the validation data must be (default: ${DEFAULT-VALUE}; 0.5: the "
                    + "measured drop).")
    double confidence;

    @Option(names = "--max-evaluations", defaultValue = "16", paramLabel = "N",
            description = "Validation passes --max-accuracy-drop may spend, fp32's included, 2..1000 (default: "
                    + "${DEFAULT-VALUE}).")
    int maxEvaluations;

    @Option(names = "--report", paramLabel = "DIR",
            description = "Also write the report (report.json, index.html with charts) into DIR.")
    Path report;

    @Option(names = "--report-layer", paramLabel = "LAYER",
            description = "The layer whose ranges and channels the report draws (default: the worst quantized one).")
    String reportLayer;

    @Override
    public Integer call() throws Exception {
        requireInRange("--calibration-images", calibrationImages, 1, OptionBounds.TRAINING_IMAGES);
        requireInRange("--batch-size", batchSize, 1, OptionBounds.TRAINING_IMAGES);
        requireInRange("--sequential-passes", sequentialPasses, 0, OptionBounds.MAX_SEQUENTIAL_PASSES);
        if (adaround != null) {
            requireInRange("--adaround", adaround, 1, QuantizationOptions.MAX_ADAROUND_ITERATIONS);
        }
        if (weightBits != null) { // checked here: options() reads 0 as "decided by the machine"
            requireInRange("--weight-bits", weightBits, OptionBounds.MIN_BITS, OptionBounds.MAX_BITS);
        }
        if (maxAccuracyDrop != null) {
            check(maxAccuracyDrop >= 0 && maxAccuracyDrop <= 100, this,
                    "--max-accuracy-drop must be in 0..100, got " + maxAccuracyDrop);
            requireInRange("--validation-images", validationImages, 1, OptionBounds.TRAINING_IMAGES);
            requireInRange("--max-evaluations", maxEvaluations, 2, 1000);
            check(confidence >= 0.5 && confidence <= 0.999, this,
                    "--confidence must be in 0.5..0.999, got " + confidence);
        } else {
            check(validation == null, this, "--validation is read only with --max-accuracy-drop");
        }
        Path file = output != null ? output : Path.of(defaultName(model));
        dataOptions.validate(this);
        requireFileOrAbsent("--output", file);
        if (report != null) {
            requireDirectoryOrAbsent("--report", report);
        }
        QuantizationOptions base = QuantizationOptions.defaults();
        if (preset != null) {
            check(preset.equals("w4"), this, "--preset: unknown preset '" + preset + "' (known: w4)");
            base = QuantizationOptions.fourBit().build();
        }
        QuantizationOptions.Builder builder = options(this, method != null ? method : RangeMethods.FITTED_PDF,
                weightBits != null ? weightBits : base.weightBits(), activationBits, granularity,
                keepFp32).sequentialPasses(sequentialPasses)
                .crossLayerEqualization(crossLayerEqualization || base.crossLayerEqualization())
                .adaround(adaround != null ? adaround : base.adaroundIterations());
        if (method == null) {
            builder.activationRangeMethod(base.activationRangeMethod()).weightRangeMethod(base.weightRangeMethod());
        }
        try {
            builder.activationZeroPoints(ZeroPoints.parse(zeroPoints));
        } catch (IllegalArgumentException e) {
            throw usage("--zero-points: " + e.getMessage());
        }
        QuantizationOptions options = biasCorrection == null ? builder.build()
                : builder.biasCorrection(biasCorrection).build();
        if (dynamic) {
            return quantizeDynamic(file, options);
        }
        check(sequenceLength == null, this, "--sequence-length is read only with --dynamic (calibration data gives"
                + " it otherwise)");
        CalibrationSource source = calibrationSource(calibration);
        CalibrationSource validationSource = maxAccuracyDrop == null ? null : validationSource(source);

        Fp32Model fp32 = normalizerOption.resolve(this, model, dataOptions.zooInput(this), dataOptions);
        LabeledData images = calibrationData(source, fp32.declaredInput().orElse(null), dataOptions,
                calibrationImages, calibrationSeed);
        int classes = images.labelClasses();
        QuantizedModel q;
        long start = System.nanoTime();
        BudgetedModel budgeted = null;
        try (ProgressBar bar = main.progress.start("calibration", batches(images.size(), batchSize), "batches")) {
            CountingIterator counted = new CountingIterator(images.iterator(batchSize, classes), bar);
            if (validationSource == null) {
                q = fp32.quantize(counted, options);
            } else {
                LabeledData v = validationSource.named() == null
                        ? fileData(validationSource.source(), fp32.declaredInput().orElse(null), dataOptions,
                                validationImages)
                        : LabeledDataOf.images(datasets().validationSet(validationSource.named(), validationImages,
                                calibrationImages, calibrationSeed));
                AccuracyBudget budget = new AccuracyBudget(maxAccuracyDrop,
                        ValidationMetric.top1(v.iterator(batchSize, classes)), maxEvaluations, confidence);
                budgeted = fp32.quantizeWithinBudget(counted, options, budget);
                q = budgeted.model();
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        requireNoNanSqnr(q);
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        q.save(file.toFile());

        main.out.println(q.report());
        if (budgeted != null) {
            main.out.printf(Locale.ROOT, "accuracy budget %.2f: fp32 top-1 %.2f %%, quantized %.2f %% (drop %.2f, "
                    + "%.0f %% bound %.2f) on %,d validation examples; kept in fp32: %s; %d validation passes, %d "
                    + "ranking quantizations%n", maxAccuracyDrop, budgeted.fp32Score(), budgeted.score(),
                    budgeted.drop(), 100 * confidence, budgeted.dropBound(), validationImages,
                    budgeted.keptFp32().isEmpty() ? "none" : String.join(", ", budgeted.keptFp32()),
                    budgeted.evaluations(), budgeted.rankingQuantizations());
        }
        main.out.printf(Locale.ROOT, "quantized %s in %.2f s; wrote %s (%,d bytes)%n", fp32.name(), seconds, file,
                Files.size(file));
        if (report != null) {
            Path html = Reports.write(report, fp32.name(), fp32, q, images.iterator(batchSize, classes), reportLayer,
                    main.progress, batches(images.size(), batchSize), null);
            main.out.println("report: " + html);
        }
        return Main.OK;
    }

    /** {@code --dynamic}: quantizes without data, saves, prints the report; options that need data refused. */
    private Integer quantizeDynamic(Path file, QuantizationOptions options) throws java.io.IOException {
        check(maxAccuracyDrop == null && report == null && adaround == null && preset == null
                && sequentialPasses == 0 && !Boolean.TRUE.equals(biasCorrection), this, "--dynamic reads no"
                + " calibration data: --max-accuracy-drop, --report, --adaround, --preset, --sequential-passes and"
                + " --bias-correction need it");
        if (sequenceLength != null) {
            requireInRange("--sequence-length", sequenceLength, 1, 1_000_000);
        }
        Fp32Model fp32 = normalizerOption.resolve(this, model, dataOptions.zooInput(this), dataOptions);
        long start = System.nanoTime();
        QuantizedModel q = fp32.quantizeDynamic(sequenceLength == null ? -1 : sequenceLength, options);
        double seconds = (System.nanoTime() - start) / 1e9;
        Files.createDirectories(file.toAbsolutePath().getParent());
        q.save(file.toFile());
        main.out.println(q.report());
        main.out.printf(Locale.ROOT, "quantized %s dynamically (no calibration data) in %.2f s; wrote %s (%,d bytes)%n",
                fp32.name(), seconds, file, Files.size(file));
        return Main.OK;
    }

    /**
     * {@code --validation}'s source: the calibration data set when not given (its training images outside the
     * calibration draw); the user's own data must name its own file, other than the calibration file.
     */
    private CalibrationSource validationSource(CalibrationSource calibrationSource) {
        if (validation == null) {
            check(calibrationSource.named() != null, this, "--max-accuracy-drop with your own calibration data needs "
                    + "--validation DATA: other examples than the calibration ones (a folder of images, a .csv, .npy "
                    + "or .npz file)");
            return calibrationSource;
        }
        check(!validation.equals(calibrationSource.source()) || calibrationSource.named() != null, this,
                "--validation names the calibration data " + validation + ": validate on other examples");
        return DataSources.isFileSource(validation) ? new CalibrationSource(validation, null)
                : new CalibrationSource(validation, dataset("--validation", validation));
    }

    /**
     * An error (exit code 1) when a layer's SQNR is NaN: the network's values on the calibration images are not all
     * numbers, and its quantized model is not worth saving. (+Infinity, "exact", is a result.)
     */
    private static void requireNoNanSqnr(QuantizedModel q) {
        q.report().layers().stream().filter(l -> Double.isNaN(l.sqnrDb())).findFirst().ifPresent(l -> {
            throw new IllegalStateException("the SQNR of layer '" + l.layer() + "' came out NaN: the network's "
                    + "values on the calibration images are not all numbers; nothing saved");
        });
    }

    static long batches(int images, int batchSize) {
        return ((long) images + batchSize - 1) / batchSize;
    }

    /** MODEL's file name without extension, plus .q4j; a zoo name in lower case. */
    static String defaultName(String model) {
        String name = Path.of(model).getFileName().toString();
        int dot = name.lastIndexOf('.');
        return (dot > 0 ? name.substring(0, dot) : name.toLowerCase(Locale.ROOT)) + ".q4j";
    }

    /**
     * The quantization options' builder, or a usage error naming the bad one; weight bits {@link
     * QuantizationOptions#AUTO_WEIGHT_BITS} leave them to the machine.
     */
    static QuantizationOptions.Builder options(CommonOptions c, String method, int weightBits, int activationBits,
            String granularity, List<String> keepFp32) {
        if (weightBits != QuantizationOptions.AUTO_WEIGHT_BITS) {
            c.requireInRange("--weight-bits", weightBits, OptionBounds.MIN_BITS, OptionBounds.MAX_BITS);
        }
        c.requireInRange("--activation-bits", activationBits, OptionBounds.MIN_BITS, OptionBounds.MAX_BITS);
        try {
            RangeMethods.byName(method);
        } catch (RuntimeException e) {
            throw c.usage("--method: " + e.getMessage());
        }
        Granularity g;
        try {
            g = Granularity.parse(granularity);
        } catch (IllegalArgumentException e) {
            throw c.usage("--granularity: " + e.getMessage());
        }
        return QuantizationOptions.builder().rangeMethod(method).weightBits(weightBits).activationBits(activationBits)
                .granularity(g).calibrationBatches(Integer.MAX_VALUE).keepFp32(keepFp32.toArray(String[]::new));
    }
}
