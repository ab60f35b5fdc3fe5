package org.quant4j.graph;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.transforms.HistogramFixedWidth;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;

/**
 * The calibration pass: observer ops added to a copy of a graph for every watched tensor, so that a calibration batch
 * returns per-channel summaries instead of the tensors themselves (on a device, only the summaries cross to the
 * host). The summaries are exactly what {@code calib.ChannelStatistics} takes from one chunk of a channel, so that
 * merging them into the running statistics ({@code calib.TensorObserver#observe(calib.ChannelSummaries)}) gives the
 * same statistics as streaming the values through the Java observers.
 *
 * <p>For a tensor {@code x} with channel axis {@code a} (or the whole tensor as one channel when {@code a < 0}), in
 * double precision, reductions over every axis but {@code a}:
 * <pre>
 *   lo, hi   = min x, max x                      mu = mean x
 *   M_p      = sum (x - mu)^p, p = 2..6          (the chunk's central sums, as ChannelStatistics.accept)
 *   zeros    = sum [x == 0]
 *   e        = the smallest e with floor(hi' 2^-e) - floor(lo' 2^-e) + 1 &lt;= bins, lo' = min(lo, 0), hi' = max(hi, 0)
 *              (-60 when lo' = hi' = 0): the bin width 2^e a fresh ChannelStatistics lays out for [lo, hi]
 *   k        = floor(lo' 2^-e)                   (the window's first global bin)
 *   counts   = histogram of floor(x 2^-e) - k + c * bins over c * bins .. (c + 1) * bins, per channel c
 * </pre>
 * The exponent is found by starting two steps below {@code floor(log2(span / bins))} and stepping up while the span
 * does not fit (the fit only improves with e); the Java side checks it against its own layout before merging, so a
 * rounding of {@code log2} can never bin a value wrongly. The histogram goes through libnd4j's
 * {@code histogram_fixed_width} on the bin indices (integers + 1/2 over a range of unit-width bins: exact).
 *
 * <p>The statistics are stacked as rows of one {@code [ROWS, C]} array per tensor ({@link #MIN} ... {@link #OFFSET}).
 */
public final class ObserverPass {

    /** Row indices of the stacked statistics. */
    public static final int MIN = 0;
    public static final int MAX = 1;
    public static final int MEAN = 2;
    /** Rows {@code CENTRAL + p - 2} hold M_p, p = 2..6. */
    public static final int CENTRAL = 3;
    public static final int ZEROS = 8;
    public static final int EXPONENT = 9;
    public static final int OFFSET = 10;
    public static final int ROWS = 11;

    /** How many times the exponent is stepped up from its estimate (the estimate is at most 3 below). */
    private static final int FIT_STEPS = 6;

    private ObserverPass() {
    }

    /**
     * The names of the summaries of one watched tensor in the instrumented graph.
     *
     * @param tensor    the watched tensor
     * @param axis      its channel axis, -1 for one channel
     * @param shape     the tensor's shape (int64 vector)
     * @param stats     the statistics, {@code [ROWS, C]} doubles
     * @param histogram the histograms, {@code C * bins} int64 counts, channel after channel
     */
    public record Summary(String tensor, int axis, String shape, String stats, String histogram) {

        /** The three outputs to request. */
        public List<String> outputs() {
            return List.of(shape, stats, histogram);
        }
    }

    /** A copy of a graph with observer ops, and where to read each tensor's summaries. */
    public record Instrumented(SameDiff graph, Map<String, Summary> summaries, int bins) {

        /** Every summary output, in tensor order. */
        public List<String> outputs() {
            return summaries.values().stream().flatMap(s -> s.outputs().stream()).toList();
        }
    }

    /**
     * A copy of {@code graph} with observer ops on every tensor of {@code axes} (tensor to channel axis, -1 for one
     * channel), whose ranks are {@code ranks}; {@code graph} is not changed.
     *
     * @throws QuantizationException when a tensor is not a variable of the graph, or its rank does not hold its axis
     */
    public static Instrumented instrument(SameDiff graph, Map<String, Integer> axes, Map<String, Integer> ranks,
            int bins) {
        SameDiff sd = ArraysOnce.keep(graph.dup());
        Map<String, Summary> summaries = new LinkedHashMap<>();
        int index = 0;
        for (Map.Entry<String, Integer> e : axes.entrySet()) {
            String tensor = e.getKey();
            int axis = e.getValue();
            Integer rank = ranks.get(tensor);
            if (!sd.hasVariable(tensor)) {
                throw new QuantizationException("observer pass: tensor '" + tensor + "' is not a variable of the graph");
            }
            if (rank == null || rank < 1 || axis >= rank) {
                throw new QuantizationException("observer pass: tensor '" + tensor + "' has rank " + rank
                        + ", which has no channel axis " + axis);
            }
            summaries.put(tensor, observe(sd, sd.getVariable(tensor), axis, rank, bins, "obs" + index++ + "#"));
        }
        return new Instrumented(sd, Map.copyOf(summaries), bins);
    }

    private static Summary observe(SameDiff sd, SDVariable source, int axis, int rank, int bins, String p) {
        int[] dims = IntStream.range(0, rank).filter(d -> d != axis).toArray();
        SDVariable x = source.castTo(p + "x", DataType.DOUBLE);
        SDVariable lo = sd.min(p + "lo", x, true, dims);
        SDVariable hi = sd.max(p + "hi", x, true, dims);
        SDVariable mu = sd.mean(p + "mu", x, true, dims);
        SDVariable d = x.sub(p + "d", mu);
        SDVariable d2 = d.mul(p + "d2", d);
        SDVariable d3 = d2.mul(p + "d3", d);
        SDVariable[] central = {
            sd.sum(p + "m2", d2, true, dims),
            sd.sum(p + "m3", d3, true, dims),
            sd.sum(p + "m4", d2.mul(p + "d4", d2), true, dims),
            sd.sum(p + "m5", d2.mul(p + "d5", d3), true, dims),
            sd.sum(p + "m6", d3.mul(p + "d6", d3), true, dims),
        };
        SDVariable zeros = sd.sum(p + "zeros", sd.eq(p + "is0", x, 0.0).castTo(p + "is0d", DataType.DOUBLE), true,
                dims);

        // The histogram layout of a fresh ChannelStatistics for [lo, hi] (see the class comment).
        SDVariable loZ = sd.math().min(p + "loz", lo, sd.zerosLike(p + "zl", lo));
        SDVariable hiZ = sd.math().max(p + "hiz", hi, sd.zerosLike(p + "zh", hi));
        SDVariable span = hiZ.sub(p + "span", loZ);
        SDVariable empty = sd.eq(p + "empty", span, 0.0).castTo(p + "emptyd", DataType.DOUBLE);
        SDVariable perBin = sd.math().max(p + "spanpos", span, sd.onesLike(p + "tiny", span).mul(Double.MIN_NORMAL))
                .div(p + "perbin", bins);
        SDVariable e = sd.math().floor(p + "e0", sd.math().log(p + "log2", perBin, 2.0)).sub(p + "e1", 2.0);
        SDVariable two = sd.onesLike(p + "ones", e).mul(p + "two", 2.0);
        for (int step = 0; step < FIT_STEPS; step++) {
            SDVariable scale = sd.math().pow(p + "s" + step, two, e.neg());
            SDVariable used = sd.math().floor(hiZ.mul(scale)).sub(sd.math().floor(loZ.mul(scale))).add(1.0);
            e = e.add(p + "e" + (step + 2), sd.gt(used, (double) bins).castTo(DataType.DOUBLE));
        }
        // An all-zero channel: the width a fresh layout gives it, 2^-60.
        e = e.mul(empty.rsub(1.0)).add(p + "exp", empty.mul(-60.0));
        SDVariable scale = sd.math().pow(p + "scale", two, e.neg());
        SDVariable k = sd.math().floor(p + "offset", loZ.mul(scale));

        // Bin indices, channel c shifted by c * bins, histogrammed over unit-width bins.
        SDVariable channel = sd.cumsum(p + "c1", sd.onesLike(p + "ones2", lo), false, false, axisOrZero(axis))
                .sub(p + "c", 1.0);
        SDVariable flat = sd.math().floor(x.mul(scale)).sub(k).add(channel.mul((double) bins)).add(p + "flat", 0.5);
        SDVariable total = sd.prod(p + "channels", sd.shape(lo).castTo(DataType.DOUBLE)).mul(p + "nbins", (double) bins);
        SDVariable range = total.mul(p + "range", sd.constant(p + "unit", Nd4j.createFromArray(0.0, 1.0)));
        SDVariable histogram = new HistogramFixedWidth(sd, flat.reshape(-1), range,
                total.castTo(DataType.INT)).outputVariable();
        histogram = sd.identity(p + "hist", histogram);

        SDVariable[] rows = new SDVariable[ROWS];
        rows[MIN] = lo;
        rows[MAX] = hi;
        rows[MEAN] = mu;
        System.arraycopy(central, 0, rows, CENTRAL, central.length);
        rows[ZEROS] = zeros;
        rows[EXPONENT] = e;
        rows[OFFSET] = k;
        for (int r = 0; r < ROWS; r++) {
            rows[r] = rows[r].reshape(-1);
        }
        SDVariable stats = sd.stack(p + "stats", 0, rows);
        SDVariable shape = sd.shape(p + "shape", source);
        return new Summary(source.name(), axis, shape.name(), stats.name(), histogram.name());
    }

    private static int axisOrZero(int axis) {
        return Math.max(axis, 0);
    }
}
