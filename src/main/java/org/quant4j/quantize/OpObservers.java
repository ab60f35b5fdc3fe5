package org.quant4j.quantize;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.ChunkSummary;
import org.quant4j.calib.TensorObserver;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.ObserverPass;

/**
 * Calibration through observer ops ({@link ObserverPass}): a copy of the graph computes every point's per-channel
 * summaries, and only those are read back and merged into the observers ({@link TensorObserver#observe(long[],
 * ChunkSummary[])}), which gives the statistics the Java observers give on the tensors themselves.
 *
 * <p>A batch whose summaries a channel refuses ({@link ChannelStatistics#takes}: non-finite values, or a histogram
 * layout the Java side would not have chosen) is reported back, before anything is merged, so that the caller
 * observes that batch the Java way instead.
 */
public final class OpObservers {

    private final ObserverPass.Instrumented instrumented;

    private OpObservers(ObserverPass.Instrumented instrumented) {
        this.instrumented = instrumented;
    }

    /** Observer ops on {@code graph} for every observer, whose ranks must be known (a batch already observed). */
    public static OpObservers of(ModelGraph graph, Map<String, TensorObserver> observers) {
        Map<String, Integer> axes = new LinkedHashMap<>();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        observers.forEach((tensor, o) -> {
            axes.put(tensor, o.axis());
            ranks.put(tensor, o.rank());
        });
        return new OpObservers(ObserverPass.instrument(graph.graph(), axes, ranks, ChannelStatistics.DEFAULT_BINS));
    }

    /**
     * Runs the instrumented graph on {@code feed} and merges the summaries into {@code observers}; false, with
     * nothing merged, when a summary was refused.
     */
    public boolean observe(Map<String, INDArray> feed, Map<String, TensorObserver> observers) {
        Map<String, INDArray> out = GraphExecution.output(instrumented.graph(), feed, instrumented.outputs());
        try {
            Map<TensorObserver, ChunkSummary[]> chunks = new LinkedHashMap<>();
            Map<TensorObserver, long[]> shapes = new LinkedHashMap<>();
            for (TensorObserver observer : observers.values()) {
                ObserverPass.Summary s = instrumented.summaries().get(observer.tensor());
                long[] shape = out.get(s.shape()).toLongVector();
                ChunkSummary[] summary = decode(shape, out.get(s.stats()).reshape(-1).toDoubleVector(),
                        out.get(s.histogram()).toLongVector(), instrumented.bins());
                if (!observer.takes(shape, summary)) {
                    return false;
                }
                chunks.put(observer, summary);
                shapes.put(observer, shape);
            }
            chunks.forEach((observer, summary) -> observer.observe(shapes.get(observer), summary));
            return true;
        } finally {
            out.values().forEach(a -> {
                if (a.closeable()) {
                    a.close();
                }
            });
        }
    }

    /** The per-channel summaries from the stacked statistics ({@code [ROWS, C]}) and histograms. */
    private static ChunkSummary[] decode(long[] shape, double[] stats, long[] histogram, int bins) {
        int channels = stats.length / ObserverPass.ROWS;
        long elements = 1;
        for (long d : shape) {
            elements *= d;
        }
        long count = elements / Math.max(1, channels);
        ChunkSummary[] chunks = new ChunkSummary[channels];
        for (int c = 0; c < channels; c++) {
            double[] central = new double[ChannelStatistics.MAX_ORDER - 1];
            for (int p = 0; p < central.length; p++) {
                central[p] = stats[(ObserverPass.CENTRAL + p) * channels + c];
            }
            long[] counts = new long[bins];
            if (histogram.length == (long) channels * bins) {
                System.arraycopy(histogram, c * bins, counts, 0, bins);
            }
            chunks[c] = new ChunkSummary(count, stats[ObserverPass.MIN * channels + c],
                    stats[ObserverPass.MAX * channels + c], stats[ObserverPass.MEAN * channels + c], central,
                    Math.round(stats[ObserverPass.ZEROS * channels + c]),
                    (int) stats[ObserverPass.EXPONENT * channels + c],
                    (long) stats[ObserverPass.OFFSET * channels + c], counts);
        }
        return chunks;
    }
}
