package org.quant4j.cli.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The user's own data, told apart by the argument: a directory is an {@link ImageFolder}, a {@code .csv} file a
 * {@link CsvTable}, a {@code .npy} or {@code .npz} file {@link NpyData}. (The named data sets, {@code mnist} and
 * {@code fashion-mnist}, are read by the commands from the data set cache.)
 */
public final class DataSources {

    /**
     * How to read a source.
     *
     * @param labelColumn CSV label column, 0-based, or -1 for none
     * @param skipLines   CSV lines skipped first
     * @param labels      labels {@code .npy} for a features {@code .npy}, or null
     * @param rawPixels   image values 0..255 instead of 0..1
     * @param rgb         3-channel images in red, green, blue order instead of DL4J's blue, green, red
     * @param centreCrop  images cropped about their centre to the model's aspect ratio before resizing (else
     *                    stretched)
     */
    public record Options(int labelColumn, int skipLines, Path labels, boolean rawPixels, boolean rgb,
                          boolean centreCrop) {
    }

    private DataSources() {
    }

    /**
     * Whether {@code source} names a file or directory of the user's data rather than a named data set; a data set's
     * name wins over a directory of that name in the current directory (write {@code ./mnist} for the directory).
     */
    public static boolean isFileSource(String source) {
        try {
            org.quant4j.data.Dataset.fromName(source);
            return false;
        } catch (IllegalArgumentException e) {
            // not a named data set
        }
        String name = source.toLowerCase(Locale.ROOT);
        return Files.isDirectory(Path.of(source)) || name.endsWith(".csv") || name.endsWith(".npy")
                || name.endsWith(".npz");
    }

    /**
     * Reads {@code source} for a model whose examples have {@code readShape} (without the batch dimension; -1 for a
     * size the model leaves open), and reshapes the features to {@code modelShape} (the model's fixed input without
     * the batch dimension, same number of values; null when the model's input is not fixed).
     */
    public static LabeledData open(String source, long[] readShape, long[] modelShape, Options options)
            throws IOException {
        Path path = Path.of(source);
        if (!Files.exists(path)) {
            throw new java.nio.file.NoSuchFileException(source, null, "no such data file or folder");
        }
        String name = source.toLowerCase(Locale.ROOT);
        LabeledData data;
        if (Files.isDirectory(path)) {
            data = ImageFolder.read(path, readShape, options.rawPixels(), options.rgb(), options.centreCrop());
        } else if (name.endsWith(".csv")) {
            data = CsvTable.read(path, readShape, options.labelColumn(), options.skipLines());
        } else if (name.endsWith(".npy")) {
            data = NpyData.readNpy(path, options.labels(), readShape);
        } else if (name.endsWith(".npz")) {
            data = NpyData.readNpz(path, readShape);
        } else {
            throw new BadDataException(source + ": not a data source (a folder of images, .csv, .npy or .npz)");
        }
        if (modelShape == null || Arrays.equals(modelShape, readShape)
                || Arrays.equals(modelShape, Arrays.copyOfRange(data.features().shape(), 1, data.features().rank()))) {
            return data;
        }
        long[] shape = new long[modelShape.length + 1];
        shape[0] = data.size();
        System.arraycopy(modelShape, 0, shape, 1, modelShape.length);
        return new LabeledData(data.source(), data.features().reshape('c', shape), data.classes());
    }
}
