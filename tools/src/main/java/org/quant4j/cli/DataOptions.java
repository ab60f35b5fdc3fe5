package org.quant4j.cli;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.quant4j.cli.data.DataSources;
import org.quant4j.graph.TensorSpec;
import picocli.CommandLine.Option;

/** How to read the user's own data (an image folder, a CSV, .npy or .npz file): a mixin of the commands taking DATA. */
final class DataOptions {

    @Option(names = "--input-shape", split = ",", paramLabel = "N",
            description = "One example's shape, C,H,W or F (default: the model's input shape, where it is fixed).")
    List<Long> inputShape;

    @Option(names = "--label-column", defaultValue = "-1", paramLabel = "N",
            description = "CSV: the 0-based column holding the class index (default: none).")
    int labelColumn;

    @Option(names = "--skip-lines", defaultValue = "0", paramLabel = "N",
            description = "CSV: lines skipped at the start, e.g. 1 for a header (default: ${DEFAULT-VALUE}).")
    int skipLines;

    @Option(names = "--labels", paramLabel = "FILE",
            description = "Features .npy: the labels .npy ([N] class indices or [N, K] one-hot).")
    Path labels;

    @Option(names = "--raw-pixels", description = "Images: keep pixel values 0..255 (default: divided by 255).")
    boolean rawPixels;

    @Option(names = "--centre-crop",
            description = "Images: crop each about its centre to the model's aspect ratio before resizing (default: "
                    + "stretch to the model's height and width).")
    boolean centreCrop;

    @Option(names = "--channel-order", defaultValue = "bgr", paramLabel = "ORDER",
            description = "Images of 3 channels: bgr (as DL4J's NativeImageLoader) | rgb (default: ${DEFAULT-VALUE}).")
    String channelOrder;

    /** Usage errors for values out of range, before any work. */
    void validate(CommonOptions c) {
        options(c);
        if (inputShape != null) {
            CommonOptions.check(inputShape.stream().allMatch(d -> d > 0 && d <= 1_000_000), c,
                    "--input-shape sizes must be in 1..1000000, got " + inputShape);
        }
    }

    /** The reader options; usage errors for values out of range. */
    DataSources.Options options(CommonOptions c) {
        c.requireInRange("--label-column", labelColumn, -1, 1_000_000);
        c.requireInRange("--skip-lines", skipLines, 0, Integer.MAX_VALUE);
        CommonOptions.check(channelOrder.equals("bgr") || channelOrder.equals("rgb"), c,
                "--channel-order must be bgr or rgb, got " + channelOrder);
        return new DataSources.Options(labelColumn, skipLines, labels, rawPixels, channelOrder.equals("rgb"),
                centreCrop);
    }

    /** The input a zoo model is built for: {@code --input-shape C,H,W} when given, else 1x28x28. */
    int[] zooInput(CommonOptions c) {
        if (inputShape == null || inputShape.size() != 3) {
            return Fp32Model.ZOO_INPUT;
        }
        CommonOptions.check(inputShape.stream().allMatch(d -> d > 0 && d <= 1_000_000), c,
                "--input-shape sizes must be in 1..1000000, got " + inputShape);
        return inputShape.stream().mapToInt(Long::intValue).toArray();
    }

    /** The model's input shape without the batch dimension when it is fixed, else null. */
    static long[] fixedExampleShape(TensorSpec input) {
        if (input == null || input.shape() == null) {
            return null;
        }
        long[] example = Arrays.copyOfRange(input.shape(), 1, input.shape().length);
        return Arrays.stream(example).allMatch(d -> d > 0) ? example : null;
    }

    /**
     * The shape the readers read an example in: {@code --input-shape} when given (it must have as many values as a
     * fixed model input), else the model's input shape without the batch dimension, where -1 marks a size the
     * model leaves open (an image folder takes it from the first image, a .npy from its array); a usage error when
     * neither tells the rank.
     */
    long[] readShape(CommonOptions c, TensorSpec input) {
        long[] model = fixedExampleShape(input);
        if (inputShape == null || inputShape.isEmpty()) {
            CommonOptions.check(input != null && input.shape() != null, c, "the model's input shape is not known: "
                    + "give --input-shape C,H,W (or F)");
            return Arrays.copyOfRange(input.shape(), 1, input.shape().length);
        }
        long[] given = inputShape.stream().mapToLong(Long::longValue).toArray();
        CommonOptions.check(Arrays.stream(given).allMatch(d -> d > 0 && d <= 1_000_000), c,
                "--input-shape sizes must be in 1..1000000, got " + inputShape);
        if (model != null) {
            long a = Arrays.stream(given).reduce(1, Math::multiplyExact);
            long b = Arrays.stream(model).reduce(1, Math::multiplyExact);
            CommonOptions.check(a == b, c, "--input-shape " + Arrays.toString(given) + " has " + a
                    + " values, the model's input " + input.shapeText() + " takes " + b);
        }
        return given;
    }
}
