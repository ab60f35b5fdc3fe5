package org.quant4j.data;

/**
 * Which part of a data set to load. There is deliberately no default: calibration takes a few hundred
 * {@link #TRAIN} images, evaluation the {@link #TEST} images, and every loading call names its split.
 */
public enum Split {
    /** The 60,000 training examples; the only split calibration subsets may come from. */
    TRAIN("train", 60_000),
    /** The 10,000 test examples ({@code t10k-*} files); for evaluation only. */
    TEST("t10k", 10_000);

    private final String filePrefix;
    private final int expectedSize;

    Split(String filePrefix, int expectedSize) {
        this.filePrefix = filePrefix;
        this.expectedSize = expectedSize;
    }

    /** File name prefix of the split's IDX files: {@code train} or {@code t10k}. */
    public String filePrefix() {
        return filePrefix;
    }

    /** Number of examples in this split of MNIST and Fashion-MNIST. */
    public int expectedSize() {
        return expectedSize;
    }
}
