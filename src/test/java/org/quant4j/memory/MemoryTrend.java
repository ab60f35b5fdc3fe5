package org.quant4j.memory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;

/**
 * Memory readings ({@link ProcessMemory#settled()}) before and after each of several equal rounds of work (calls of
 * a model, batches of images), and the growth per unit of work in the steady state: the median, over the rounds
 * after the first ones (which build caches, compile code and let the native allocator reach its working size), of
 * each round's growth divided by its units. A leak grows memory in every round, by its size per unit, so the median
 * shows it; a one-off allocation (a cache filled, a pooled session added) grows it in one round only, and the median
 * ignores it as long as fewer than half the rounds have one.
 *
 * @param what          what the rounds do, for the printed table
 * @param unitsPerRound calls, images, ... in each round
 * @param unit          the unit's name, singular
 * @param readings      reading 0 before any work, reading r after round r
 */
public record MemoryTrend(String what, long unitsPerRound, String unit, List<ProcessMemory.Sample> readings) {

    /** A round of work. */
    @FunctionalInterface
    public interface Round {
        void run() throws Exception;
    }

    public MemoryTrend {
        readings = List.copyOf(readings);
    }

    /** Runs {@code rounds} rounds of {@code unitsPerRound} units each, reading the settled memory before and after each. */
    public static MemoryTrend measure(String what, int rounds, long unitsPerRound, String unit, Round round)
            throws Exception {
        List<ProcessMemory.Sample> readings = new ArrayList<>();
        readings.add(ProcessMemory.settled());
        for (int r = 0; r < rounds; r++) {
            round.run();
            readings.add(ProcessMemory.settled());
        }
        return new MemoryTrend(what, unitsPerRound, unit, readings);
    }

    /** The resident set's growth per unit, bytes: the median over the rounds after round {@code from}. */
    public double residentPerUnit(int from) {
        return medianGrowth(from, ProcessMemory.Sample::residentBytes);
    }

    /** The heap's live set's growth per unit, bytes: the median over the rounds after round {@code from}. */
    public double heapPerUnit(int from) {
        return medianGrowth(from, ProcessMemory.Sample::heapBytes);
    }

    /** The readings, one line per round (round 0: before any work), and the growth per unit after round {@code from}. */
    public String table(int from) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%s: %d %ss per round%n", what, unitsPerRound,
                unit));
        for (int r = 0; r < readings.size(); r++) {
            ProcessMemory.Sample s = readings.get(r);
            b.append(String.format(Locale.ROOT, "  after round %d: resident %8.1f MB, heap live %6.1f MB%n", r,
                    s.residentBytes() / 1e6, s.heapBytes() / 1e6));
        }
        b.append(String.format(Locale.ROOT, "  growth per %s, median of rounds %d..%d: resident %+.0f bytes, heap"
                + " %+.0f bytes", unit, from + 1, readings.size() - 1, residentPerUnit(from), heapPerUnit(from)));
        return b.toString();
    }

    private double medianGrowth(int from, ToLongFunction<ProcessMemory.Sample> bytes) {
        int n = readings.size() - 1 - from;
        if (from < 0 || n < 3) {
            throw new IllegalArgumentException("a median growth needs three rounds after round " + from + "; there are "
                    + (readings.size() - 1) + " rounds");
        }
        double[] growth = new double[n];
        for (int i = 0; i < n; i++) {
            int r = from + 1 + i;
            growth[i] = (bytes.applyAsLong(readings.get(r)) - bytes.applyAsLong(readings.get(r - 1)))
                    / (double) unitsPerRound;
        }
        Arrays.sort(growth);
        return n % 2 == 1 ? growth[n / 2] : (growth[n / 2 - 1] + growth[n / 2]) / 2;
    }
}
