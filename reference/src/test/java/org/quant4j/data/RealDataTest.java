package org.quant4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * Loads the real MNIST and Fashion-MNIST files from the cache ({@link Datasets#fromEnvironment()}),
 * fetching them first if they are missing. Expected values were read off the files independently.
 */
class RealDataTest {

    private static final Datasets DATA = Datasets.fromEnvironment();

    @TempDir
    Path tmp;

    /** First label of the test split: MNIST '7', Fashion-MNIST 9 = "Ankle boot". */
    private static int firstTestLabel(Dataset d) {
        return d == Dataset.MNIST ? 7 : 9;
    }

    /** Per-class counts of the test split. */
    private static int[] testCounts(Dataset d) {
        return d == Dataset.MNIST
                ? new int[] {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
                : new int[] {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
    }

    private static int[] classCounts(INDArray oneHot) {
        double[] sums = oneHot.sum(0).toDoubleVector();
        return Arrays.stream(sums).mapToInt(v -> (int) Math.round(v)).toArray();
    }

    @ParameterizedTest
    @EnumSource(Dataset.class)
    void testSplitShapesRangeAndLabels(Dataset d) {
        LabeledImages test = DATA.evaluationSet(d);
        assertEquals(Split.TEST, test.split());
        assertArrayEquals(new long[] {10_000, 1, 28, 28}, test.features().shape());
        assertArrayEquals(new long[] {10_000, 10}, test.labels().shape());
        assertEquals(DataType.FLOAT, test.features().dataType());
        assertEquals(DataType.FLOAT, test.labels().dataType());
        assertEquals(0.0, test.features().minNumber().doubleValue());
        assertEquals(1.0, test.features().maxNumber().doubleValue());
        // one-hot: every row sums to 1, all entries 0 or 1
        assertEquals(10_000.0, test.labels().sumNumber().doubleValue());
        assertEquals(1.0, test.labels().sum(1).minNumber().doubleValue());
        assertEquals(1.0, test.labels().maxNumber().doubleValue());
        assertArrayEquals(testCounts(d), classCounts(test.labels()));
        assertEquals(10_000, Arrays.stream(classCounts(test.labels())).sum());
        assertEquals(firstTestLabel(d), test.labels().getRow(0).argMax().getInt(0));
        if (d == Dataset.FASHION_MNIST) {
            assertEquals("Ankle boot", d.classNames().get(firstTestLabel(d)));
        }
    }

    @Test
    void mnistFirstTestImageMatchesItsBytes() {
        LabeledImages first = DATA.load(Dataset.MNIST, Split.TEST, Subset.first(1));
        // the 784 raw bytes of test image 0 sum to 18454; the features are byte / 255
        assertEquals(18454.0, first.features().sumNumber().doubleValue() * 255.0, 0.05);
        assertEquals(7, first.labels().argMax(1).getInt(0));
    }

    @ParameterizedTest
    @EnumSource(Dataset.class)
    void trainSplit(Dataset d) {
        LabeledImages train = DATA.load(d, Split.TRAIN);
        assertArrayEquals(new long[] {60_000, 1, 28, 28}, train.features().shape());
        assertArrayEquals(new long[] {60_000, 10}, train.labels().shape());
        int[] counts = classCounts(train.labels());
        assertEquals(60_000, Arrays.stream(counts).sum());
        for (int c : counts) {
            assertTrue(c > 5000 && c < 7000, Arrays.toString(counts));
        }
        // first training labels: MNIST 5, Fashion-MNIST 9
        assertEquals(d == Dataset.MNIST ? 5 : 9, train.labels().getRow(0).argMax().getInt(0));
        assertTrue(train.features().minNumber().doubleValue() >= 0.0);
        assertTrue(train.features().maxNumber().doubleValue() <= 1.0);
    }

    @Test
    void firstNIsThePrefixOfTheFullSplit() {
        LabeledImages all = DATA.load(Dataset.FASHION_MNIST, Split.TEST);
        LabeledImages first = DATA.load(Dataset.FASHION_MNIST, Split.TEST, Subset.first(100));
        assertEquals(100, first.size());
        assertEquals(all.features().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 100)), first.features());
        assertEquals(all.labels().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 100)), first.labels());
    }

    @Test
    void validationSetIsTrainingImagesOutsideTheCalibrationSet() {
        LabeledImages calibration = DATA.calibrationSet(Dataset.MNIST, 300, 5L);
        LabeledImages validation = DATA.validationSet(Dataset.MNIST, 700, 300, 5L);
        assertEquals(Split.TRAIN, validation.split());
        assertEquals(700, validation.indices().length);
        assertEquals(700, validation.features().size(0));
        Set<Integer> seen = new HashSet<>();
        for (int i : calibration.indices()) {
            seen.add(i);
        }
        LabeledImages all = DATA.load(Dataset.MNIST, Split.TRAIN);
        for (int r = 0; r < validation.indices().length; r++) {
            int i = validation.indices()[r];
            assertTrue(seen.add(i), "example " + i + " is in the calibration set or twice in the validation set");
            assertEquals(all.features().slice(i), validation.features().slice(r), "features of example " + i);
            assertEquals(all.labels().getRow(i), validation.labels().getRow(r), "label of example " + i);
        }
    }

    @Test
    void iteratorCoversTheSplitInBatches() {
        DataSetIterator it = DATA.iterator(Dataset.MNIST, Split.TEST, 256);
        for (int pass = 0; pass < 2; pass++) {
            int batches = 0;
            long examples = 0;
            double labelSum = 0;
            while (it.hasNext()) {
                DataSet b = it.next();
                long n = b.getFeatures().size(0);
                assertEquals(n, b.getLabels().size(0));
                assertEquals(1, b.getFeatures().size(1));
                assertEquals(28, b.getFeatures().size(3));
                assertEquals(batches < 39 ? 256 : 16, n);
                examples += n;
                labelSum += b.getLabels().sumNumber().doubleValue();
                batches++;
            }
            assertEquals(40, batches);
            assertEquals(10_000, examples);
            assertEquals(10_000.0, labelSum);
            assertTrue(it.resetSupported());
            it.reset();
        }
    }

    /** Exact bytes of each image (features * 255), so two images compare equal only if every pixel does. */
    private static Set<ByteBuffer> imageKeys(INDArray features) {
        int n = (int) features.size(0);
        int px = (int) (features.length() / n);
        float[] f = features.dup('c').data().asFloat();
        Set<ByteBuffer> keys = new HashSet<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[px];
            for (int p = 0; p < px; p++) {
                b[p] = (byte) Math.round(f[i * px + p] * 255f);
            }
            keys.add(ByteBuffer.wrap(b));
        }
        return keys;
    }

    @ParameterizedTest
    @EnumSource(Dataset.class)
    void calibrationSubsetDoesNotOverlapTheTestSet(Dataset d) {
        LabeledImages calib = DATA.calibrationSet(d, 500, 1234L);
        assertEquals(Split.TRAIN, calib.split());
        assertEquals(500, calib.size());
        Set<ByteBuffer> calibKeys = imageKeys(calib.features());
        assertEquals(500, calibKeys.size(), "500 distinct images");

        Set<ByteBuffer> testKeys = imageKeys(DATA.evaluationSet(d).features());
        Set<ByteBuffer> common = new HashSet<>(calibKeys);
        common.retainAll(testKeys);
        assertEquals(Set.of(), common, "calibration images found in the test set");

        // the comparison does detect overlap: a subset drawn from the test split overlaps it entirely
        Set<ByteBuffer> fromTest = imageKeys(DATA.load(d, Split.TEST, Subset.random(500, 1234L)).features());
        fromTest.retainAll(testKeys);
        assertEquals(500, fromTest.size());
    }

    @Test
    void truncatedMnistFileInTheCacheIsNamed() throws Exception {
        Path src = DATA.ensureAvailable(Dataset.MNIST);
        Path dir = Files.createDirectories(tmp.resolve("mnist"));
        Files.copy(src.resolve("t10k-labels-idx1-ubyte"), dir.resolve("t10k-labels-idx1-ubyte"));
        byte[] images = Files.readAllBytes(src.resolve("t10k-images-idx3-ubyte"));
        Path cut = Files.write(dir.resolve("t10k-images-idx3-ubyte"), Arrays.copyOf(images, images.length / 3));
        Datasets local = Datasets.at(tmp).withFetching(false);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> local.load(Dataset.MNIST, Split.TEST));
        assertTrue(e.getMessage().contains(cut.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void truncatedFashionGzipInTheCacheIsNamed() throws Exception {
        Path src = DATA.ensureAvailable(Dataset.FASHION_MNIST);
        Path dir = Files.createDirectories(tmp.resolve("fashion-mnist"));
        Files.copy(src.resolve("t10k-images-idx3-ubyte.gz"), dir.resolve("t10k-images-idx3-ubyte.gz"));
        byte[] labels = Files.readAllBytes(src.resolve("t10k-labels-idx1-ubyte.gz"));
        Path cut = Files.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), Arrays.copyOf(labels, labels.length - 40));
        Datasets local = Datasets.at(tmp).withFetching(false);
        IdxFormatException e = assertThrows(IdxFormatException.class,
                () -> local.load(Dataset.FASHION_MNIST, Split.TEST));
        assertTrue(e.getMessage().contains(cut.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void trainFilesInPlaceOfTestFilesAreRejected() throws Exception {
        Path src = DATA.ensureAvailable(Dataset.MNIST);
        Path dir = Files.createDirectories(tmp.resolve("mnist"));
        Files.copy(src.resolve("train-images-idx3-ubyte"), dir.resolve("t10k-images-idx3-ubyte"));
        Files.copy(src.resolve("train-labels-idx1-ubyte"), dir.resolve("t10k-labels-idx1-ubyte"));
        IdxFormatException e = assertThrows(IdxFormatException.class,
                () -> Datasets.at(tmp).withFetching(false).load(Dataset.MNIST, Split.TEST));
        assertTrue(e.getMessage().contains("60000") && e.getMessage().contains("t10k-images-idx3-ubyte"), e.getMessage());
    }

    @Test
    void loadsAreIndependentCopies() {
        LabeledImages a = DATA.load(Dataset.MNIST, Split.TEST, Subset.first(10));
        LabeledImages b = DATA.load(Dataset.MNIST, Split.TEST, Subset.first(10));
        assertNotSame(a.features(), b.features());
        assertEquals(a.features(), b.features());
    }
}
