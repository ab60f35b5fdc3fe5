package org.quant4j.cli;

import java.util.Arrays;

/**
 * Latency of timed batches: median, 90th and 99th percentile (nearest rank), min and max in milliseconds per batch,
 * and the throughput in examples per second (all timed examples over the total timed time).
 */
record LatencyStats(int batches, int batchSize, double medianMs, double p90Ms, double p99Ms, double minMs,
                    double maxMs, double meanMs, double imagesPerSecond) {

    /** The statistics of {@code nanos}, one wall-clock time per batch of {@code batchSize} examples. */
    static LatencyStats of(long[] nanos, int batchSize) {
        if (nanos.length == 0) {
            throw new IllegalArgumentException("no timed batches");
        }
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        long total = Arrays.stream(sorted).sum();
        return new LatencyStats(sorted.length, batchSize, ms(percentile(sorted, 0.5)), ms(percentile(sorted, 0.9)),
                ms(percentile(sorted, 0.99)), ms(sorted[0]), ms(sorted[sorted.length - 1]),
                total / 1e6 / sorted.length, total > 0 ? (double) sorted.length * batchSize / (total / 1e9) : 0);
    }

    /** The nearest-rank percentile: the smallest value with at least {@code p} of the values at or below it. */
    static long percentile(long[] sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
