package org.quant4j.graph;

import java.util.stream.IntStream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * The examples of a batch whose input holds a NaN or an infinite value, and their outputs set to NaN: what DL4J's
 * fp32 network gives for them (a NaN spreads through every layer of its example), where an integer kernel would
 * clamp it to a level and answer with a finite, confident, meaningless output.
 *
 * <p>Cost: one sum per input (finite for an all-finite batch, whatever the values: a sum that overflows only
 * triggers the exact check; a small input's values times 0, summed in Java, are NaN only for a NaN or an infinity),
 * and a per-example count only when that sum is not finite.
 */
public final class NonFiniteRows {

    private NonFiniteRows() {
    }

    /** The indices (along dimension 0) of the examples with a non-finite value in any input; empty when none. */
    public static long[] of(INDArray[] inputs) {
        boolean[] bad = null;
        for (INDArray x : inputs) {
            if (!x.dataType().isFPType() || x.rank() == 0 || allFinite(x)) {
                continue;
            }
            int[] perExample = IntStream.range(1, x.rank()).toArray();
            INDArray counts = perExample.length == 0
                    ? Nd4j.getExecutioner().exec(new MatchCondition(x.reshape(x.length(), 1), Conditions.notFinite(), 1))
                    : Nd4j.getExecutioner().exec(new MatchCondition(x, Conditions.notFinite(), perExample));
            if (bad == null) {
                bad = new boolean[(int) x.size(0)];
            }
            for (int r = 0; r < bad.length && r < counts.length(); r++) {
                bad[r] |= counts.getLong(r) > 0;
            }
        }
        if (bad == null) {
            return new long[0];
        }
        boolean[] flags = bad;
        return IntStream.range(0, flags.length).filter(r -> flags[r]).asLongStream().toArray();
    }

    /** Below this many values a float input is scanned in Java: an ND4J sum costs tens of microseconds per call. */
    static final long SCANNED_IN_JAVA = 1 << 14;

    /**
     * Whether every value is finite, or may be: false only after a sum of the values (or, for a small dense float
     * array, of the values times 0, whatever their size) was not finite.
     */
    private static boolean allFinite(INDArray x) {
        if (x.length() >= SCANNED_IN_JAVA || x.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT
                || x.isView() || x.ordering() != 'c' || x.offset() != 0) {
            return Double.isFinite(x.sumNumber().doubleValue());
        }
        Nd4j.getAffinityManager().ensureLocation(x, org.nd4j.linalg.api.concurrency.AffinityManager.Location.HOST);
        java.nio.FloatBuffer values = x.data().asNioFloat();
        float zeroIfFinite = 0;
        for (int i = 0, n = (int) x.length(); i < n; i++) {
            zeroIfFinite += values.get(i) * 0f;
        }
        return zeroIfFinite == 0;
    }

    /**
     * Copies of {@code inputs} whose given examples are set to 0 (the inputs themselves where {@code rows} is empty):
     * run in their place, so that a value computed over the whole batch (a scale computed per call, dynamic
     * quantization) is not set by a NaN or an infinity; those examples' outputs are then {@link #poison}ed.
     */
    public static INDArray[] zeroed(INDArray[] inputs, long[] rows) {
        if (rows.length == 0) {
            return inputs;
        }
        INDArray[] copies = inputs.clone();
        for (int i = 0; i < copies.length; i++) {
            INDArray x = copies[i];
            if (x == null || x.rank() == 0 || !x.dataType().isFPType()) {
                continue;
            }
            copies[i] = x.dup();
            for (long r : rows) {
                if (r < x.size(0)) {
                    copies[i].get(NDArrayIndex.point(r)).assign(0);
                }
            }
        }
        return copies;
    }

    /** Sets the given examples of every output whose first dimension is the batch ({@code batch} rows) to NaN. */
    public static void poison(INDArray[] outputs, long[] rows, long batch) {
        if (rows.length == 0) {
            return;
        }
        for (INDArray out : outputs) {
            if (out == null || out.rank() == 0 || out.size(0) != batch || !out.dataType().isFPType()) {
                continue;
            }
            for (long r : rows) {
                out.get(NDArrayIndex.point(r)).assign(Double.NaN);
            }
        }
    }
}
