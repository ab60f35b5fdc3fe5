package org.quant4j.cli.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * NumPy files read by ND4J's npy parser: a {@code .npy} array of features {@code [N, ...]} (any numeric dtype, as
 * float32), with labels from another {@code .npy} (class indices {@code [N]}, or one-hot {@code [N, K]}); or a {@code .npz} holding
 * the features under {@code x} or {@code features} (or as its only array) and the labels under {@code y} or
 * {@code labels}. The features of one example must have as many values as the model's input, and are reshaped to it.
 */
public final class NpyData {

    private NpyData() {
    }

    /** @param labelsFile a labels {@code .npy}, or null */
    public static LabeledData readNpy(Path file, Path labelsFile, long[] exampleShape) {
        INDArray features = load(file);
        int[] classes = labelsFile == null ? null : classes(labelsFile, load(labelsFile), features.size(0));
        return new LabeledData(file.toString(), reshape(file.toString(), features, exampleShape), classes);
    }

    public static LabeledData readNpz(Path file, long[] exampleShape) {
        Map<String, INDArray> arrays = npzEntries(file);
        String featuresKey = arrays.size() == 1 ? arrays.keySet().iterator().next()
                : arrays.containsKey("x") ? "x" : arrays.containsKey("features") ? "features" : null;
        if (featuresKey == null) {
            throw new BadDataException(file + ": no entry 'x' or 'features' among " + arrays.keySet());
        }
        String labelsKey = arrays.containsKey("y") ? "y" : arrays.containsKey("labels") ? "labels" : null;
        String where = file + ", entry '" + featuresKey + "'";
        INDArray features = numeric(where, arrays.get(featuresKey));
        int[] classes = labelsKey == null ? null
                : classes(file + ", entry '" + labelsKey + "'", numeric(file + ", entry '" + labelsKey + "'",
                        arrays.get(labelsKey)), features.size(0));
        return new LabeledData(file.toString(), reshape(where, features, exampleShape), classes);
    }

    /**
     * The arrays of an .npz (a zip of .npy files), by name without ".npy"; read entry by entry, so that both
     * {@code numpy.savez} (stored) and {@code numpy.savez_compressed} (deflated) files are read.
     */
    private static Map<String, INDArray> npzEntries(Path file) {
        Map<String, INDArray> arrays = new LinkedHashMap<>();
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(file))) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                String name = entry.getName();
                if (entry.isDirectory() || !name.endsWith(".npy")) {
                    continue;
                }
                byte[] bytes = zip.readAllBytes();
                requireMagic(file + ", entry '" + name + "'", bytes);
                try {
                    arrays.put(name.substring(0, name.length() - 4), Nd4j.createNpyFromByteArray(bytes));
                } catch (RuntimeException e) {
                    throw new BadDataException(file + ", entry '" + name + "': not a readable .npy array ("
                            + e.getMessage() + ")", e);
                }
            }
        } catch (IOException e) {
            throw new BadDataException(file + ": not a readable .npz file (" + e.getMessage() + ")", e);
        }
        if (arrays.isEmpty()) {
            throw new BadDataException(file + ": no .npy entries in it (not an .npz file?)");
        }
        return arrays;
    }

    /** The magic string every .npy starts with: checked here, before ND4J's native parser reads the header. */
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    private static void requireMagic(String where, byte[] start) {
        if (start.length < MAGIC.length || !Arrays.equals(Arrays.copyOf(start, MAGIC.length), MAGIC)) {
            throw new BadDataException(where + ": not a NumPy .npy array (it does not start with \\x93NUMPY)");
        }
    }

    private static INDArray load(Path file) {
        INDArray array;
        try (var in = Files.newInputStream(file)) {
            requireMagic(file.toString(), in.readNBytes(MAGIC.length));
        } catch (IOException e) {
            throw new BadDataException(file + ": not readable (" + e.getMessage() + ")", e);
        }
        try {
            array = Nd4j.createFromNpyFile(file.toFile());
        } catch (RuntimeException e) {
            throw new BadDataException(file + ": not a readable .npy file (" + e.getMessage() + ")", e);
        }
        return numeric(file.toString(), array);
    }

    private static INDArray numeric(String where, INDArray array) {
        DataType type = array.dataType();
        if (!type.isNumerical() || array.rank() == 0) {
            throw new BadDataException(where + ": dtype " + type + ", shape " + Arrays.toString(array.shape())
                    + "; expected numbers of shape [N, ...]");
        }
        return array.castTo(DataType.FLOAT);
    }

    private static INDArray reshape(String where, INDArray features, long[] modelShape) {
        long[] actual = features.shape();
        long[] exampleShape = modelShape.clone();
        for (int i = 0; i < exampleShape.length; i++) {
            if (exampleShape[i] < 1) { // left open by the model: the array's size, where the ranks agree
                exampleShape[i] = actual.length == exampleShape.length + 1 ? actual[i + 1] : -1;
            }
        }
        long perExample = Arrays.stream(actual).skip(1).reduce(1, Math::multiplyExact);
        long expected = Arrays.stream(exampleShape).reduce(1, Math::multiplyExact);
        long[] wanted = new long[exampleShape.length + 1];
        wanted[0] = actual[0];
        System.arraycopy(exampleShape, 0, wanted, 1, exampleShape.length);
        if (perExample != expected || expected < 1) {
            throw new BadDataException(where + ": shape " + Arrays.toString(actual) + " does not fit the model's "
                    + "input shape " + Arrays.toString(wanted) + " (" + perExample + " values per example, the model "
                    + "takes " + expected + ")");
        }
        return features.dup('c').reshape('c', wanted);
    }

    private static int[] classes(Path file, INDArray labels, long examples) {
        return classes(file.toString(), labels, examples);
    }

    /** Class indices from {@code [N]} indices or {@code [N, K]} one-hot rows. */
    private static int[] classes(String where, INDArray labels, long examples) {
        if (labels.size(0) != examples || labels.rank() > 2) {
            throw new BadDataException(where + ": labels of shape " + Arrays.toString(labels.shape()) + " for "
                    + examples + " examples; expected [" + examples + "] class indices or [" + examples
                    + ", K] one-hot rows");
        }
        INDArray indices = labels.rank() == 2 && labels.size(1) > 1 ? labels.argMax(1) : labels.reshape(examples);
        int[] classes = new int[(int) examples];
        for (int i = 0; i < classes.length; i++) {
            double v = indices.getDouble(i);
            if (v < 0 || v != Math.rint(v)) {
                throw new BadDataException(where + ": entry " + i + " is " + v + ", not a class index");
            }
            classes[i] = (int) v;
        }
        return classes;
    }
}
