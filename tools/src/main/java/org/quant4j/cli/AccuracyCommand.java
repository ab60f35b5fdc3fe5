package org.quant4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.quant4j.Granularity;
import org.quant4j.accuracy.AccuracyStudy;
import org.quant4j.accuracy.BudgetStudy;
import org.quant4j.reference.ReferenceNetwork;
import org.quant4j.io.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code quant4j accuracy}: the accuracy study over the reference networks. */
@Command(name = "accuracy", mixinStandardHelpOptions = true, sortOptions = false,
        description = "The accuracy study: for each reference network (trained by 'quant4j train'), calibrate on "
                + "training images and measure top-1 on the 10,000 test images in fp32, for every range method x "
                + "per-channel/per-tensor x W8A8/W8A4/W4A8/W4A4 (fake-quant), and on the int8 runtime. Prints a "
                + "markdown table; writes accuracy.md and accuracy.json.")
final class AccuracyCommand extends CommonOptions implements Callable<Integer> {

    @Option(names = "--networks", split = ",", defaultValue = "first", paramLabel = "NAME",
            description = "all, first (mlp-mnist, lenet-mnist, resnet-fashion, mobilenet-fashion), second (the "
                    + "eight of the second set), or a comma-separated list of ids (default: ${DEFAULT-VALUE}).")
    List<String> networks;

    @Option(names = "--models", defaultValue = "models", paramLabel = "DIR",
            description = "Where the trained networks are (default: ${DEFAULT-VALUE}).")
    Path models;

    @Option(names = "--methods", split = ",", paramLabel = "METHOD",
            description = "Range methods; a suffix +bc or +nobc turns bias correction on or off (default: on), +seq or +seqN sequential calibration "
                    + "(1 or N passes on the quantized network), +cle cross-layer equalization, +zp or +zpon activation zero "
                    + "points per point or everywhere, A/W crosses an activation and a weight method "
                    + "(default: patent, patent+nobc, minmax, percentile-99.99, entropy, mse, aciq).")
    List<String> methods;

    @Option(names = "--granularities", split = ",", defaultValue = "per-point,per-channel,per-tensor",
            paramLabel = "G", description = "Activation granularities: per-point (per-channel or per-tensor, chosen"
            + " per activation point; with per-channel weights), per-channel, per-tensor"
            + " (default: ${DEFAULT-VALUE}).")
    List<String> granularities;

    @Option(names = "--bits", split = ",", defaultValue = "W8A8,W8A4,W4A8,W4A4", paramLabel = "WxAy",
            description = "Weight and activation bit widths, 2..8 each (default: ${DEFAULT-VALUE}).")
    List<String> bits;

    @Option(names = "--calibration-images", defaultValue = "" + AccuracyStudy.CALIBRATION_IMAGES, paramLabel = "N",
            description = "Training images to calibrate on, drawn with --calibration-seed, 1.."
                    + OptionBounds.TRAINING_IMAGES + " (default: ${DEFAULT-VALUE}).")
    int calibrationImages;

    @Option(names = "--calibration-seed", defaultValue = "" + AccuracyStudy.SEED, paramLabel = "SEED",
            description = "Seed of the draw of calibration images (default: ${DEFAULT-VALUE}).")
    long calibrationSeed;

    @Option(names = "--calibration-draws", defaultValue = "1", paramLabel = "N",
            description = "Independent draws of calibration images (seeds SEED, SEED+1, ...); the tables give the "
                    + "mean top-1 over the draws, 1.." + OptionBounds.MAX_CALIBRATION_DRAWS
                    + " (default: ${DEFAULT-VALUE}).")
    int draws;

    @Option(names = "--test-images", defaultValue = "10000", paramLabel = "N",
            description = "The first N test images, 1..10000 (default: ${DEFAULT-VALUE}).")
    int testImages;

    @Option(names = "--batch-size", defaultValue = "500", paramLabel = "N",
            description = "Evaluation batch size, 1.." + OptionBounds.TEST_IMAGES + " (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--out", defaultValue = "target/accuracy", paramLabel = "DIR",
            description = "Where accuracy.md and accuracy.json go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--max-accuracy-drop", paramLabel = "POINTS",
            description = "Instead of the table: the accuracy budget (Quantizer.quantizeWithinBudget) at each --bits,"
                    + " default options, the first calibration draw; validated on " + BudgetStudy.VALIDATION_IMAGES
                    + " training images apart from the calibration images, the drop reported on the test images.")
    Double maxAccuracyDrop;

    @Override
    public Integer call() throws Exception {
        requireInRange("--calibration-images", calibrationImages, 1, OptionBounds.TRAINING_IMAGES);
        requireInRange("--calibration-draws", draws, 1, OptionBounds.MAX_CALIBRATION_DRAWS);
        requireInRange("--test-images", testImages, 1, OptionBounds.TEST_IMAGES);
        requireInRange("--batch-size", batchSize, 1, OptionBounds.TEST_IMAGES);
        requireDirectoryOrAbsent("--models", models);
        requireDirectoryOrAbsent("--out", out);
        List<ReferenceNetwork> nets = new ArrayList<>();
        for (String n : networks) {
            try {
                nets.addAll(ReferenceNetwork.named(n));
            } catch (IllegalArgumentException e) {
                throw usage("--networks: " + e.getMessage());
            }
        }
        List<String> ms = methods == null ? AccuracyStudy.METHODS : methods;
        for (String m : ms) {
            int passes;
            try {
                passes = AccuracyStudy.options(m).build().sequentialPasses();
            } catch (NumberFormatException e) {
                throw usage("--methods: '" + m + "': the N of +seqN must be in 0.."
                        + OptionBounds.MAX_SEQUENTIAL_PASSES);
            } catch (IllegalArgumentException e) {
                throw usage("--methods: " + e.getMessage());
            }
            check(passes <= OptionBounds.MAX_SEQUENTIAL_PASSES, this, "--methods: '" + m + "': the N of +seqN must be"
                    + " in 0.." + OptionBounds.MAX_SEQUENTIAL_PASSES + ", got " + passes);
        }
        List<Granularity> gs = new ArrayList<>();
        for (String g : granularities) {
            try {
                gs.add(Granularity.parse(g));
            } catch (IllegalArgumentException e) {
                throw usage("--granularities: " + e.getMessage());
            }
        }
        List<int[]> bitWidths = new ArrayList<>();
        for (String b : bits) {
            Matcher m = Pattern.compile("W([2-8])A([2-8])").matcher(b.toUpperCase(Locale.ROOT));
            check(m.matches(), this, "--bits: '" + b + "' is not WxAy with x and y in 2..8");
            bitWidths.add(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
        }
        AccuracyStudy.Settings settings = new AccuracyStudy.Settings(nets, models, calibrationImages,
                calibrationSeed, draws, ms, gs, bitWidths, testImages, batchSize);
        long start = System.nanoTime();
        if (maxAccuracyDrop != null) {
            check(maxAccuracyDrop >= 0 && maxAccuracyDrop <= 100, this, "--max-accuracy-drop must be in 0..100, got "
                    + maxAccuracyDrop);
            StringBuilder md = new StringBuilder(BudgetStudy.header());
            for (ReferenceNetwork net : nets) {
                for (int[] b : bitWidths) {
                    BudgetStudy.Result r = BudgetStudy.run(net, settings, b[0], b[1], maxAccuracyDrop, datasets(),
                            main.out);
                    md.append(BudgetStudy.row(r)).append('\n');
                    AtomicFiles.writeString(out.resolve("budget.md"), md.toString());
                }
            }
            main.out.print(md);
            main.out.printf("accuracy budget study: %.1f min; wrote %s%n", (System.nanoTime() - start) / 60e9,
                    out.resolve("budget.md"));
            return Main.OK;
        }
        List<AccuracyStudy.NetworkResult> results = new ArrayList<>();
        for (ReferenceNetwork net : nets) {
            AccuracyStudy.NetworkResult r = AccuracyStudy.run(net, settings, datasets(), main.out, main.progress);
            results.add(r);
            main.out.println();
            main.out.print(AccuracyStudy.markdown(List.of(r)));
            // Written after every network, so that a long study leaves what it measured.
            AtomicFiles.writeString(out.resolve("accuracy.md"), AccuracyStudy.markdown(results));
            AtomicFiles.write(out.resolve("accuracy.json"),
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(results));
        }
        main.out.printf("accuracy study: %.1f min%n", (System.nanoTime() - start) / 60e9);
        main.out.println("wrote " + out.resolve("accuracy.md") + " and " + out.resolve("accuracy.json"));
        return Main.OK;
    }
}
