package org.quant4j.cli;

/**
 * The allowed range of every numeric option of the command line, in one place (docs/CLI.md, "Option bounds", lists
 * them). Each maximum keeps the arithmetic that uses the value inside an {@code int} and the work it asks for
 * sane; values outside are refused before any work, as a usage error that names the option, the value and the
 * range. Seeds take any {@code long}.
 */
final class OptionBounds {

    /** Images in a training split (MNIST, Fashion-MNIST): calibration images and calibration batch sizes. */
    static final int TRAINING_IMAGES = 60_000;
    /** Images in a test split: evaluated images and evaluation batch sizes. */
    static final int TEST_IMAGES = 10_000;
    /** Weight and activation bits. */
    static final int MIN_BITS = 2;
    static final int MAX_BITS = 8;
    /** Sequential calibration passes (each one reads the calibration images again). */
    static final int MAX_SEQUENTIAL_PASSES = 10;
    /** Independent draws of calibration images in the accuracy study (each one repeats the whole study). */
    static final int MAX_CALIBRATION_DRAWS = 100;
    /** Timed batches, and warm-up batches, of {@code bench}. */
    static final int MAX_BENCH_BATCHES = 100_000;
    /**
     * Batch size of {@code bench}'s random inputs; lower when a batch of the model's input would have more than
     * {@link Integer#MAX_VALUE} values.
     */
    static final int MAX_BENCH_BATCH_SIZE = 65_536;
    /** ND4J threads of {@code bench --threads}. */
    static final int MAX_BENCH_THREADS = 1024;

    private OptionBounds() {
    }

    /**
     * The largest batch whose array of {@code valuesPerExample} values each stays int-indexed, at most
     * {@link #MAX_BENCH_BATCH_SIZE}.
     */
    static int maxBenchBatchSize(long valuesPerExample) {
        return (int) Math.min(MAX_BENCH_BATCH_SIZE, Integer.MAX_VALUE / Math.max(1, valuesPerExample));
    }
}
