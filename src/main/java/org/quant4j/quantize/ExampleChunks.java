package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.nd4j.NativeArrays;

/**
 * Calibration batches cut into chunks of examples for quant4j's own runs of a graph (observing, the per-point choice,
 * bias correction, the report), sized by the run's activations: a chunk holds at most {@link #CHUNK_VALUES} values of
 * the largest activation seen so far, per example (one example at least). Every measurement made on the runs is a sum
 * over examples, so the chunks give what the whole batch gives; what they change is the memory of a run, whose
 * activations and the kernels' own buffers grow with the examples run at once (VGG16 at 224 x 224 in batches of 8
 * peaked above 1 GB in one convolution), and its time, since each run has a cost of its own: chunks of one example
 * cost ResNet-50 2.2 times the time of its batches of 8 (docs/PERFORMANCE.md). Until an activation has been seen (the
 * first chunk of the first batch) a chunk is one example.
 *
 * <p>With {@link #CHUNK_VALUES} {@code 2^22} (16 MB of fp32): ResNet-50 at 224 x 224 (largest activation 802,816 values
 * per example) runs 5 examples at a time, VGG16 (3.2 M) and UNet at 512 x 512 (16.8 M) one.
 */
final class ExampleChunks {

    /** Values of the largest activation per chunk, at most (one example at least). */
    static final long CHUNK_VALUES = 1L << 22;

    /** The largest activation seen, in values per example; 0 before any. */
    private long largestPerExample;

    /** Records an activation computed on a chunk of {@code examples} examples. */
    void saw(INDArray value, long examples) {
        if (examples > 0 && value != null) {
            largestPerExample = Math.max(largestPerExample, value.length() / examples);
        }
    }

    /** Examples per chunk: one until an activation has been seen. */
    long examplesPerChunk() {
        return largestPerExample == 0 ? 1 : Math.max(1, CHUNK_VALUES / largestPerExample);
    }

    /**
     * {@code batch} (arrays with the examples along dimension 0, the first the network's first input) as dense copies,
     * chunk by chunk (copied even when it is one chunk: an iterator may refill its arrays).
     */
    List<INDArray[]> copies(INDArray[] batch) {
        List<INDArray[]> chunks = new ArrayList<>();
        long examples = examples(batch[0]);
        long step = Math.max(1, sameExamples(batch, examples) ? examplesPerChunk() : examples);
        for (long from = 0; from < Math.max(1, examples); from += step) {
            INDArray[] chunk = new INDArray[batch.length];
            for (int i = 0; i < batch.length; i++) {
                chunk[i] = batch[i] == null ? null : rows(batch[i], from, Math.min(examples, from + step), examples)
                        .dup('c');
            }
            chunks.add(chunk);
        }
        return chunks;
    }

    /**
     * Runs {@code run} on a feed of whole batches (each array's examples along dimension 0) chunk by chunk (views),
     * each chunk's size decided when it is reached, after what the runs before it have shown ({@link #saw}).
     */
    void forEach(Map<String, INDArray> feed, INDArray first, Consumer<Map<String, INDArray>> run) {
        long examples = examples(first);
        boolean chunked = sameExamples(feed.values().toArray(INDArray[]::new), examples);
        long from = 0;
        do {
            long to = chunked ? Math.min(examples, from + examplesPerChunk()) : examples;
            Map<String, INDArray> chunk = new LinkedHashMap<>();
            long f = from;
            feed.forEach((name, a) -> chunk.put(name, rows(a, f, to, examples)));
            run.accept(chunk);
            from = to;
        } while (from < examples);
    }

    /** The examples of a chunk whose first input is {@code first}. */
    static long examples(INDArray first) {
        return first.rank() == 0 ? 1 : first.size(0);
    }

    /** Whether every array has the batch's {@code examples} along dimension 0 (else the batch is one chunk). */
    private static boolean sameExamples(INDArray[] arrays, long examples) {
        for (INDArray a : arrays) {
            if (a != null && (a.rank() == 0 || a.size(0) != examples)) {
                return false;
            }
        }
        return true;
    }

    /** Rows [from, to) of {@code a}; {@code a} itself for all of its {@code examples} rows. */
    private static INDArray rows(INDArray a, long from, long to, long examples) {
        return from == 0 && to >= examples ? a : NativeArrays.rows(a, from, to);
    }
}
