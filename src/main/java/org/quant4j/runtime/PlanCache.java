package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The int8 plans of one network, one per set of input shapes, at most {@link #capacity()} of them: the least
 * recently used plan is evicted when a new one is needed, and its native memory (reordered weights, oneDNN
 * primitives) is released as soon as no call is running it. A set of shapes whose plan could not be built is
 * remembered (within the same capacity) with the reason, so that it is neither rebuilt on every call nor allowed to
 * disable the plans of other shapes.
 *
 * <p>Thread-safe: {@link #acquire} and {@link Lease#close} synchronize on the cache; a plan is built while holding
 * it, so calls for other shapes wait for a build, never for a run.
 */
final class PlanCache<P extends AutoCloseable> implements AutoCloseable {

    /** The plans kept when the user sets no other number: enough for a few batch sizes of a served model. */
    static final int DEFAULT_CAPACITY = 8;

    /** A plan in use by one call; closing it lets the cache free the plan once evicted. */
    final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean closed;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        P plan() {
            return entry.plan;
        }

        @Override
        public void close() {
            synchronized (PlanCache.this) {
                if (closed) {
                    return;
                }
                closed = true;
                entry.users--;
                if (entry.evicted && entry.users == 0) {
                    closeQuietly(entry.plan);
                }
            }
        }
    }

    private final class Entry {
        final P plan;
        final Int8Network.PlanFailedException failure;
        int users;
        boolean evicted;

        Entry(P plan, Int8Network.PlanFailedException failure) {
            this.plan = plan;
            this.failure = failure;
        }
    }

    private final LinkedHashMap<List<List<Long>>, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private int capacity = DEFAULT_CAPACITY;
    private long built;

    /**
     * The plan for {@code shapes}, built by {@code build} when not cached; the caller closes the lease after the
     * call.
     *
     * @throws Int8Network.PlanFailedException when the plan for these shapes cannot be built (now or before)
     */
    synchronized Lease acquire(long[][] shapes, Function<long[][], P> build) {
        List<List<Long>> key = key(shapes);
        Entry entry = entries.get(key);
        if (entry == null) {
            try {
                entry = new Entry(build.apply(shapes), null);
                built++;
            } catch (Int8Network.PlanFailedException e) {
                entry = new Entry(null, e);
            }
            entries.put(key, entry);
            evictBeyond(capacity);
            if (entry.failure != null) {
                throw entry.failure;
            }
        } else if (entry.failure != null) {
            throw new Int8Network.PlanFailedException(entry.failure.getMessage(), false);
        }
        entry.users++;
        return new Lease(entry);
    }

    /** How many plans (and remembered failures) are kept at most. */
    synchronized int capacity() {
        return capacity;
    }

    /** Sets how many plans are kept (at least 1), evicting the least recently used beyond it. */
    synchronized void capacity(int plans) {
        if (plans < 1) {
            throw new IllegalArgumentException("the plan cache must hold at least 1 plan, got " + plans);
        }
        capacity = plans;
        evictBeyond(plans);
    }

    /** The plans held now (built and not evicted). */
    synchronized int size() {
        return (int) entries.values().stream().filter(e -> e.plan != null).count();
    }

    /** How many plans were built in all, evicted ones included. */
    synchronized long built() {
        return built;
    }

    /** The remembered failures, least recently used first. */
    synchronized List<Int8Network.Fallback> failures() {
        List<Int8Network.Fallback> result = new ArrayList<>();
        for (Map.Entry<List<List<Long>>, Entry> e : entries.entrySet()) {
            if (e.getValue().failure != null) {
                List<long[]> shapes = e.getKey().stream()
                        .map(s -> s.stream().mapToLong(Long::longValue).toArray()).toList();
                result.add(new Int8Network.Fallback(shapes, e.getValue().failure.getMessage()));
            }
        }
        return result;
    }

    private void evictBeyond(int limit) {
        Iterator<Entry> oldest = entries.values().iterator();
        while (entries.size() > limit && oldest.hasNext()) {
            Entry e = oldest.next();
            oldest.remove();
            e.evicted = true;
            if (e.plan != null && e.users == 0) {
                closeQuietly(e.plan);
            }
        }
    }

    private static void closeQuietly(AutoCloseable plan) {
        try {
            plan.close();
        } catch (Exception e) {
            throw new IllegalStateException("could not release an int8 plan: " + e.getMessage(), e);
        }
    }

    private static List<List<Long>> key(long[][] shapes) {
        List<List<Long>> key = new ArrayList<>();
        for (long[] shape : shapes) {
            key.add(Arrays.stream(shape).boxed().toList());
        }
        return List.copyOf(key);
    }

    @Override
    public synchronized void close() {
        evictBeyond(0);
    }
}
