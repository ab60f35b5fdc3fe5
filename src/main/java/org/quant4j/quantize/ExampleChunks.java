package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Calibration batches cut into chunks of examples for quant4j's own runs of a graph (observing, the per-point choice,
 * bias correction, the report): each chunk's first input holds at most {@link #CHUNK_VALUES} values (one example at
 * least). Every measurement made on the runs is a sum over examples, so the chunks give what the whole batch gives;
 * what they change is the memory of a run, whose activations and the kernels' own buffers (a 3 x 3 convolution's
 * im2col columns are nine times its input) grow with the examples run at once: VGG16 at 224 x 224 in batches of 8
 * peaked above 1 GB in one convolution. Images of 224 x 224 and more run one example at a time; 28 x 28 images in
 * batches of up to 334.
 */
final class ExampleChunks {

    /** Values of the first input per chunk, at most (one example at least). */
    static final long CHUNK_VALUES = 1L << 18;

    private ExampleChunks() {
    }

    /** Examples per chunk for a batch whose first input is {@code first}. */
    static long examplesPerChunk(INDArray first) {
        long examples = first.rank() == 0 ? 1 : first.size(0);
        long perExample = examples == 0 ? 1 : Math.max(1, first.length() / examples);
        return Math.max(1, CHUNK_VALUES / perExample);
    }

    /**
     * {@code batch} (arrays with the examples along dimension 0, the first the network's first input) as dense copies,
     * chunk by chunk; the batch itself when it is one chunk (copied too: an iterator may refill its arrays).
     */
    static List<INDArray[]> copies(INDArray[] batch) {
        List<INDArray[]> chunks = new ArrayList<>();
        for (long[] range : ranges(batch)) {
            INDArray[] chunk = new INDArray[batch.length];
            for (int i = 0; i < batch.length; i++) {
                chunk[i] = batch[i] == null ? null : rows(batch[i], range).dup('c');
            }
            chunks.add(chunk);
        }
        return chunks;
    }

    /** A feed of whole batches (each array's examples along dimension 0) as feeds of chunks (views). */
    static List<Map<String, INDArray>> of(Map<String, INDArray> feed, INDArray first) {
        List<Map<String, INDArray>> chunks = new ArrayList<>();
        for (long[] range : ranges(feed.values().toArray(INDArray[]::new), first)) {
            Map<String, INDArray> chunk = new LinkedHashMap<>();
            feed.forEach((name, a) -> chunk.put(name, rows(a, range)));
            chunks.add(chunk);
        }
        return chunks;
    }

    private static List<long[]> ranges(INDArray[] batch) {
        return ranges(batch, batch[0]);
    }

    /** [from, to) example ranges; the whole batch when the arrays do not all have its examples along dimension 0. */
    private static List<long[]> ranges(INDArray[] arrays, INDArray first) {
        long examples = first.rank() == 0 ? 1 : first.size(0);
        for (INDArray a : arrays) {
            if (a != null && (a.rank() == 0 || a.size(0) != examples)) {
                return List.of(new long[] {0, -1});
            }
        }
        long step = examplesPerChunk(first);
        if (step >= examples) {
            return List.of(new long[] {0, -1});
        }
        List<long[]> ranges = new ArrayList<>();
        for (long from = 0; from < examples; from += step) {
            ranges.add(new long[] {from, Math.min(examples, from + step)});
        }
        return ranges;
    }

    /** Rows [from, to) of {@code a}; {@code a} itself for the whole range ({@code to} -1). */
    private static INDArray rows(INDArray a, long[] range) {
        if (range[1] < 0) {
            return a;
        }
        INDArrayIndex[] index = new INDArrayIndex[a.rank()];
        index[0] = NDArrayIndex.interval(range[0], range[1]);
        for (int d = 1; d < index.length; d++) {
            index[d] = NDArrayIndex.all();
        }
        return a.get(index);
    }
}
