package org.quant4j.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.SpecifiedIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads MNIST and Fashion-MNIST from a local cache directory, fetching them with {@code apt-get} or
 * {@code npm} when they are missing (unless fetching is disabled).
 *
 * <p>A data set's files live in {@code ROOT/<name>/} (see {@link Dataset#directoryName()}), where ROOT is,
 * in order of precedence: the system property {@value #DATA_DIR_PROPERTY}, the environment variable
 * {@value #DATA_DIR_ENV}, or {@code ~/.quant4j/datasets}. Fetching is on unless the system property
 * {@value #FETCH_PROPERTY} is {@code false} or {@link #withFetching(boolean)} turns it off.
 *
 * <p>Every loading method takes the {@link Split} explicitly. For quantization use
 * {@link #calibrationSet(Dataset, int, long)} (always training images) and {@link #evaluationSet(Dataset)}
 * (always the test images):
 *
 * <pre>{@code
 * Datasets data = Datasets.fromEnvironment();
 * LabeledImages calib = data.calibrationSet(Dataset.MNIST, 500, 42L);      // 500 random TRAIN images
 * DataSetIterator eval = data.iterator(Dataset.MNIST, Split.TEST, 256);    // all 10,000 TEST images
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Datasets {

    /** System property naming the cache root; files are looked for in {@code ROOT/<name>/}. */
    public static final String DATA_DIR_PROPERTY = "quant4j.data.dir";
    /** Environment variable naming the cache root, used when {@value #DATA_DIR_PROPERTY} is not set. */
    public static final String DATA_DIR_ENV = "QUANT4J_DATA";
    /** System property; {@code false} disables fetching missing files. */
    public static final String FETCH_PROPERTY = "quant4j.data.fetch";
    /** Default limit for each fetch command (download, extraction). */
    public static final Duration DEFAULT_FETCH_TIMEOUT = Duration.ofMinutes(10);

    private static final Logger LOG = LoggerFactory.getLogger(Datasets.class);
    private static final Object FETCH_LOCK = new Object();
    private static final float[] SCALE = new float[256];

    static {
        for (int i = 0; i < 256; i++) {
            SCALE[i] = i / 255f;
        }
    }

    private final Path root;
    private final boolean fetching;
    private final Duration fetchTimeout;

    private Datasets(Path root, boolean fetching, Duration fetchTimeout) {
        this.root = Objects.requireNonNull(root, "root");
        this.fetching = fetching;
        this.fetchTimeout = Objects.requireNonNull(fetchTimeout, "fetchTimeout");
    }

    /**
     * Root from {@value #DATA_DIR_PROPERTY}, else {@value #DATA_DIR_ENV}, else {@code ~/.quant4j/datasets};
     * fetching on unless {@value #FETCH_PROPERTY} is {@code false}.
     */
    public static Datasets fromEnvironment() {
        return new Datasets(defaultRoot(), fetchingFromProperty(), DEFAULT_FETCH_TIMEOUT);
    }

    /** Cache root {@code root} (files in {@code root/<name>/}); fetching as in {@link #fromEnvironment()}. */
    public static Datasets at(Path root) {
        return new Datasets(root, fetchingFromProperty(), DEFAULT_FETCH_TIMEOUT);
    }

    /** The cache root from the system property, the environment variable, or {@code ~/.quant4j/datasets}. */
    public static Path defaultRoot() {
        String prop = System.getProperty(DATA_DIR_PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv(DATA_DIR_ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".quant4j", "datasets");
    }

    private static boolean fetchingFromProperty() {
        return !"false".equalsIgnoreCase(System.getProperty(FETCH_PROPERTY, "true").strip());
    }

    /** A copy with cache root {@code root}. */
    public Datasets withRoot(Path root) {
        return new Datasets(root, fetching, fetchTimeout);
    }

    /** A copy that fetches missing files ({@code true}) or fails with {@link DatasetUnavailableException} ({@code false}). */
    public Datasets withFetching(boolean fetching) {
        return new Datasets(root, fetching, fetchTimeout);
    }

    /** A copy whose fetch commands are each given at most {@code timeout}. */
    public Datasets withFetchTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("fetch timeout must be positive, got " + timeout);
        }
        return new Datasets(root, fetching, timeout);
    }

    /** The cache root. */
    public Path root() {
        return root;
    }

    /** Whether missing files are fetched. */
    public boolean fetchingEnabled() {
        return fetching;
    }

    /** Limit for each fetch command. */
    public Duration fetchTimeout() {
        return fetchTimeout;
    }

    /** The directory holding {@code dataset}'s files: {@code root/<name>/}. */
    public Path directory(Dataset dataset) {
        return root.resolve(dataset.directoryName());
    }

    /** Names of {@code dataset}'s files not (yet) in its directory. */
    public List<String> missingFiles(Dataset dataset) {
        Path dir = directory(dataset);
        List<String> missing = new ArrayList<>();
        for (String f : dataset.files()) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                missing.add(f);
            }
        }
        return missing;
    }

    /**
     * Makes sure all four files of {@code dataset} are in its directory, fetching them if allowed.
     *
     * @return the data set's directory
     * @throws DatasetUnavailableException if files are missing and fetching is disabled or fails
     */
    public Path ensureAvailable(Dataset dataset) {
        Path dir = directory(dataset);
        if (missingFiles(dataset).isEmpty()) {
            return dir;
        }
        synchronized (FETCH_LOCK) {
            List<String> missing = missingFiles(dataset);
            if (missing.isEmpty()) {
                return dir;
            }
            if (!fetching) {
                throw new DatasetUnavailableException(dataset, dir, missing,
                        "files are missing and fetching is disabled (-D" + FETCH_PROPERTY + "=false or withFetching(false))",
                        null);
            }
            new DatasetFetcher(fetchTimeout).fetch(dataset, dir, missing);
            List<String> still = missingFiles(dataset);
            if (!still.isEmpty()) {
                throw new DatasetUnavailableException(dataset, dir, still, "files still missing after fetching", null);
            }
            return dir;
        }
    }

    /** Every example of {@code split}. */
    public LabeledImages load(Dataset dataset, Split split) {
        return load(dataset, split, Subset.all());
    }

    /**
     * Loads the examples of {@code split} chosen by {@code subset}: features float32 {@code [N, 1, 28, 28]}
     * scaled to {@code [0, 1]} (pixel / 255), labels one-hot float32 {@code [N, 10]}.
     *
     * @throws DatasetUnavailableException if the files are missing and cannot be fetched
     * @throws IdxFormatException if a file is malformed, or its sizes do not match the split
     */
    public LabeledImages load(Dataset dataset, Split split, Subset subset) {
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(subset, "subset");
        Path dir = directory(dataset);
        Path imagesFile = dir.resolve(dataset.imagesFile(split));
        Path labelsFile = dir.resolve(dataset.labelsFile(split));
        if (!Files.isRegularFile(imagesFile) || !Files.isRegularFile(labelsFile)) {
            ensureAvailable(dataset); // only the split's two files are needed, but a fetch brings all four
        }
        IdxImages images = IdxReader.readImages(imagesFile);
        IdxLabels labels = IdxReader.readLabels(labelsFile);
        validate(dataset, split, images, labels);

        int[] idx = subset.indices(images.count());
        int pix = images.imageSize();
        int classes = dataset.numClasses();
        byte[] src = images.pixels();
        float[] f = new float[idx.length * pix];
        float[] y = new float[idx.length * classes];
        for (int r = 0; r < idx.length; r++) {
            int off = idx[r] * pix;
            int dst = r * pix;
            for (int p = 0; p < pix; p++) {
                f[dst + p] = SCALE[src[off + p] & 0xFF];
            }
            y[r * classes + labels.label(idx[r])] = 1f;
        }
        INDArray features = Nd4j.create(f, new long[] {idx.length, 1, images.rows(), images.cols()}, DataType.FLOAT);
        INDArray oneHot = Nd4j.create(y, new long[] {idx.length, classes}, DataType.FLOAT);
        LOG.debug("Loaded {} {} examples of {} ({})", idx.length, split, dataset.directoryName(), subset);
        return new LabeledImages(dataset, split, subset, idx, features, oneHot);
    }

    private static void validate(Dataset dataset, Split split, IdxImages images, IdxLabels labels) {
        if (images.rows() != Dataset.IMAGE_SIZE || images.cols() != Dataset.IMAGE_SIZE) {
            throw new IdxFormatException(images.source(), "images are " + images.rows() + "x" + images.cols()
                    + ", expected " + Dataset.IMAGE_SIZE + "x" + Dataset.IMAGE_SIZE + " for " + dataset.directoryName());
        }
        if (images.count() != split.expectedSize()) {
            throw new IdxFormatException(images.source(), "holds " + images.count() + " images, but the "
                    + split + " split of " + dataset.directoryName() + " has " + split.expectedSize()
                    + " (files of another split?)");
        }
        if (labels.count() != images.count()) {
            throw new IdxFormatException(labels.source(), "holds " + labels.count() + " labels, but "
                    + images.source().getFileName() + " holds " + images.count() + " images");
        }
        for (int i = 0; i < labels.count(); i++) {
            if (labels.label(i) >= dataset.numClasses()) {
                throw new IdxFormatException(labels.source(), "label " + labels.label(i) + " of example " + i
                        + " is out of range 0.." + (dataset.numClasses() - 1));
            }
        }
    }

    /** Mini-batches of every example of {@code split}; see {@link LabeledImages#iterator(int)}. */
    public DataSetIterator iterator(Dataset dataset, Split split, int batchSize) {
        return load(dataset, split).iterator(batchSize);
    }

    /** Mini-batches of the examples of {@code split} chosen by {@code subset}; see {@link LabeledImages#iterator(int)}. */
    public DataSetIterator iterator(Dataset dataset, Split split, Subset subset, int batchSize) {
        return load(dataset, split, subset).iterator(batchSize);
    }

    /** Calibration images: {@code n} examples drawn with {@code seed} from the TRAINING split, never the test split. */
    public LabeledImages calibrationSet(Dataset dataset, int n, long seed) {
        return load(dataset, Split.TRAIN, Subset.random(n, seed));
    }

    /**
     * Validation images for a search that must not read the calibration or test images: {@code n} examples of the
     * TRAINING split, none of them in {@link #calibrationSet calibrationSet(dataset, calibrationN, seed)}: the draw
     * {@code Subset.random(calibrationN + n, seed)} (whose first {@code calibrationN} picks are the calibration set's)
     * without the calibration set.
     */
    public LabeledImages validationSet(Dataset dataset, int n, int calibrationN, long seed) {
        LabeledImages drawn = load(dataset, Split.TRAIN, Subset.random(calibrationN + n, seed));
        Set<Integer> calibration = Arrays.stream(calibrationSet(dataset, calibrationN, seed).indices()).boxed()
                .collect(Collectors.toSet());
        long[] rows = IntStream.range(0, drawn.indices().length)
                .filter(i -> !calibration.contains(drawn.indices()[i])).asLongStream().toArray();
        int[] indices = Arrays.stream(rows).mapToInt(i -> drawn.indices()[(int) i]).toArray();
        SpecifiedIndex pick = new SpecifiedIndex(rows);
        return new LabeledImages(dataset, Split.TRAIN, drawn.subset(), indices, drawn.features().get(pick).dup(),
                drawn.labels().get(pick).dup());
    }

    /** Evaluation images: all 10,000 examples of the TEST split. */
    public LabeledImages evaluationSet(Dataset dataset) {
        return load(dataset, Split.TEST, Subset.all());
    }

    @Override
    public String toString() {
        return "Datasets[root=" + root + ", fetching=" + fetching + ", fetchTimeout=" + fetchTimeout + "]";
    }
}
