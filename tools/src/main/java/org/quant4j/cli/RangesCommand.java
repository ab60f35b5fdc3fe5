package org.quant4j.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.quant4j.Calibration;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.cli.data.LabeledData;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.ClipRange;
import org.quant4j.range.MseSolver;
import org.quant4j.range.QuantGrid;
import org.quant4j.range.RangeMethods;
import org.quant4j.range.RangeSolver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code quant4j ranges MODEL}: how good each range method's activation ranges are, point by point. For every
 * activation point and every method, the expected squared quantization error of the calibration values at the
 * method's per-channel ranges (clipping and rounding on the real grid, {@link MseSolver#expectedError} of each
 * channel's histogram, summed over the channels), relative to the smallest of the methods compared. It measures the
 * ranges alone, on the statistics they were solved from, without the network's response to them.
 */
@Command(name = "ranges", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare range methods on a network's activation points: the expected quantization error of "
                + "the calibration values at each method's per-channel ranges, per point, relative to the best method.",
                "MODEL is a DL4J model file or a DL4J zoo model name, as for quantize."})
final class RangesCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "DL4J model file or zoo model name.")
    String model;

    @Mixin
    NormalizerOption normalizerOption;

    @Option(names = "--calibration", defaultValue = "mnist", paramLabel = "DATA",
            description = "Calibration data: mnist | fashion-mnist | a folder of images (class subfolders) | a .csv, "
                    + ".npy or .npz file (default: ${DEFAULT-VALUE}).")
    String calibration;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--calibration-images", defaultValue = "512", paramLabel = "N",
            description = "Training images the statistics come from, 1.." + OptionBounds.TRAINING_IMAGES
                    + " (default: ${DEFAULT-VALUE}).")
    int calibrationImages;

    @Option(names = "--calibration-seed", defaultValue = "42", paramLabel = "SEED",
            description = "Seed of the draw of calibration images (default: ${DEFAULT-VALUE}).")
    long calibrationSeed;

    @Option(names = "--bits", defaultValue = "4", paramLabel = "BITS",
            description = "Activation bits, 2..8 (default: ${DEFAULT-VALUE}).")
    int bits;

    @Option(names = "--methods", split = ",", defaultValue = "patent,patent-ml,mse,aciq,minmax", paramLabel = "METHOD",
            description = "Range methods to compare (default: ${DEFAULT-VALUE}).")
    List<String> methods;

    @Override
    public Integer call() throws Exception {
        requireInRange("--bits", bits, OptionBounds.MIN_BITS, OptionBounds.MAX_BITS);
        requireInRange("--calibration-images", calibrationImages, 1, OptionBounds.TRAINING_IMAGES);
        dataOptions.validate(this);
        List<RangeSolver> solvers = new ArrayList<>();
        for (String m : methods) {
            try {
                solvers.add(RangeMethods.byName(m));
            } catch (IllegalArgumentException e) {
                throw usage("--methods: " + e.getMessage());
            }
        }
        CalibrationSource source = calibrationSource(calibration);
        Fp32Model fp32 = normalizerOption.resolve(this, model, dataOptions.zooInput(this), dataOptions);
        LabeledData images = calibrationData(source, fp32.declaredInput().orElse(null), dataOptions,
                calibrationImages, calibrationSeed);
        QuantizationOptions options = QuantizationOptions.builder().calibrationBatches(Integer.MAX_VALUE)
                .activationBits(bits).activationGranularity(Granularity.PER_CHANNEL).reportBatches(0).build();
        Calibration calibrated;
        int batchSize = 128;
        try (ProgressBar bar = main.progress.start("calibration",
                QuantizeCommand.batches(images.size(), batchSize), "batches")) {
            calibrated = fp32.calibrate(new CountingIterator(images.iterator(batchSize, images.labelClasses()), bar),
                    options);
        }
        QuantizedModel layout = calibrated.quantize(options); // which points there are, and their grids

        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-28s %8s %-9s", "point", "channels",
                "grid"));
        methods.forEach(m -> header.append(String.format(Locale.ROOT, " %16s", m)));
        main.out.println("expected quantization error at each method's per-channel ranges, relative to the best "
                + "method (" + bits + "-bit activations, " + images.size() + " " + images.source() + " images)");
        main.out.println(header);
        double[] totals = new double[solvers.size()];
        for (TensorQuantization t : layout.quantizations()) {
            if (t.kind() != TensorQuantization.Kind.ACTIVATION) {
                continue;
            }
            ChannelStatistics[] channels = calibrated.statistics(t.tensor(), true);
            QuantGrid grid = t.grid();
            double[] errors = new double[solvers.size()];
            for (int k = 0; k < solvers.size(); k++) {
                ClipRange[] ranges = solvers.get(k).solveAll(channels, grid);
                for (int c = 0; c < channels.length; c++) {
                    double top = grid.signed() ? ranges[c].magnitude() : ranges[c].hi();
                    errors[k] += top > 0 ? MseSolver.expectedError(channels[c].histogram(), top, grid) : 0;
                }
                ResultChecks.finite("the expected error of " + methods.get(k) + " at point " + t.tensor(), errors[k]);
                totals[k] += errors[k];
            }
            main.out.println(row(t.tensor(), channels.length, grid, errors));
        }
        main.out.println(row("all points (sum)", -1, null, totals));
        return Main.OK;
    }

    private static String row(String point, int channels, QuantGrid grid, double[] errors) {
        double best = Double.POSITIVE_INFINITY;
        for (double e : errors) {
            best = Math.min(best, e);
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-28s %8s %-9s", point,
                channels < 0 ? "" : Integer.toString(channels),
                grid == null ? "" : (grid.signed() ? "s" : "u") + grid.bits()));
        for (double e : errors) {
            line.append(String.format(Locale.ROOT, " %16s", best > 0 ? String.format(Locale.ROOT, "%+.1f%%",
                    100 * (e / best - 1)) : String.format(Locale.ROOT, "%.3g", e)));
        }
        return line.toString();
    }
}
