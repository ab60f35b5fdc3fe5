package org.quant4j.graph;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.ArrayHolder;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Copies of SameDiff graphs that cost what the copy keeps, not a serialization of every array. {@code SameDiff.dup()}
 * writes the whole graph, arrays included, into a FlatBuffers buffer on the Java heap and reads it back: for a graph
 * of {@code P} bytes of weights it holds about 3P of heap and P of new native arrays at its peak (a 268 MB dense layer
 * took the heap to 2.3 GB). Here the graph's structure alone goes through {@code dup()} (each array larger than
 * {@link #INLINE_ELEMENTS} elements stood in for by a one-element array while it runs), then the copy gets each
 * array back: natively duplicated, or, for the names the caller {@code shares}, the very same array, which the caller
 * promises to replace or remove in the copy without changing it (the fake-quant rewrite reads a weight once and
 * removes it).
 *
 * <p>While a copy is made the source graph's large arrays are stood in for: the source must not be run or read by
 * another thread meanwhile. These copies are for the graphs a quantization owns (not thread-safe, as
 * {@code Calibration} is not); a model that serves keeps {@code SameDiff.dup()}.
 */
public final class GraphCopy {

    /** Arrays at most this long go through {@code dup()} as they are. */
    static final long INLINE_ELEMENTS = 4096;

    private GraphCopy() {
    }

    /** A copy of {@code sd} sharing no array with it. */
    public static SameDiff of(SameDiff sd) {
        return of(sd, Set.of());
    }

    /**
     * A copy of {@code sd} whose arrays named in {@code shared} are {@code sd}'s own (to be replaced in the copy, never
     * changed in place), every other array duplicated.
     */
    public static SameDiff of(SameDiff sd, Set<String> shared) {
        Map<String, INDArray> constants = standIns(sd.getConstantArrays(), shared);
        Map<String, INDArray> variables = standIns(sd.getVariablesArrays(), shared);
        SameDiff copy;
        try {
            copy = ArraysOnce.keep(sd.dup());
        } finally {
            constants.forEach((name, arr) -> put(sd.getConstantArrays(), name, arr));
            variables.forEach((name, arr) -> put(sd.getVariablesArrays(), name, arr));
        }
        constants.forEach((name, arr) -> put(copy.getConstantArrays(), name, shared.contains(name) ? arr
                : arr.dup(arr.ordering())));
        variables.forEach((name, arr) -> put(copy.getVariablesArrays(), name, shared.contains(name) ? arr
                : arr.dup(arr.ordering())));
        return copy;
    }

    /**
     * A copy of {@code sd} for reading only: it shares every non-empty array with {@code sd} (neither may change an array in
     * place while the other is in use); its structure may be edited freely.
     */
    public static SameDiff sharingArrays(SameDiff sd) {
        java.util.Set<String> all = new java.util.HashSet<>(sd.getConstantArrays().arrayNames());
        all.addAll(sd.getVariablesArrays().arrayNames());
        return of(sd, all);
    }

    /**
     * The copy's arrays that are still those of {@code original} (shared ones the rewrite kept) replaced by duplicates,
     * so that the two graphs share nothing from now on.
     */
    public static void unshare(SameDiff original, SameDiff copy, Set<String> shared) {
        for (String name : shared) {
            unshare(original.getConstantArrays(), copy.getConstantArrays(), name);
            unshare(original.getVariablesArrays(), copy.getVariablesArrays(), name);
        }
    }

    private static void unshare(ArrayHolder original, ArrayHolder copy, String name) {
        if (original.hasArray(name) && copy.hasArray(name) && original.getArray(name) == copy.getArray(name)) {
            INDArray arr = copy.getArray(name);
            put(copy, name, arr.dup(arr.ordering()));
        }
    }

    /**
     * Holds {@code arr} itself under {@code name}. The previous array is removed first: setArray over an array of the
     * same shape copies the values into the array held (ThreadSafeArrayHolder's DeviceLocalNDArray.update), which
     * would keep that array rather than this one.
     */
    private static void put(ArrayHolder holder, String name, INDArray arr) {
        if (holder.hasArray(name)) {
            holder.removeArray(name);
        }
        holder.setArray(name, arr);
    }

    /**
     * Frees the native memory of every array {@code sd} holds, now rather than when the garbage collector finds them:
     * for a graph no longer used by anyone that shares no array with a graph still in use (the caller's promise).
     */
    public static void release(SameDiff sd) {
        for (ArrayHolder holder : List.of(sd.getConstantArrays(), sd.getVariablesArrays())) {
            for (String name : List.copyOf(holder.arrayNames())) {
                INDArray arr = holder.getArray(name);
                if (arr != null && arr.closeable()) {
                    arr.close();
                }
            }
        }
    }

    /**
     * The holder's large arrays and the non-empty ones named in {@code shared}, each replaced there by a one-element
     * stand-in of its type until put back.
     */
    private static Map<String, INDArray> standIns(ArrayHolder holder, Set<String> shared) {
        Map<String, INDArray> taken = new LinkedHashMap<>();
        for (String name : holder.arrayNames()) {
            INDArray arr = holder.getArray(name);
            if (arr != null && !arr.isEmpty() && (arr.length() > INLINE_ELEMENTS || shared.contains(name))) {
                taken.put(name, arr);
            }
        }
        taken.forEach((name, arr) -> put(holder, name, Nd4j.createUninitialized(arr.dataType(), 1)));
        return taken;
    }
}
