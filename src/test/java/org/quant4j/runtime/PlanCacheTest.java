package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The plan cache's contract (issue 25, item 2) on plans that record whether they were released: at most its capacity
 * of plans, the least recently used evicted and released, a plan in use released only when its last call ends, and a
 * shape whose plan failed remembered without touching the plans of other shapes.
 */
class PlanCacheTest {

    /** A plan that knows its shape and whether it was released. */
    private static final class Recorded implements AutoCloseable {
        final long batch;
        boolean released;

        Recorded(long batch) {
            this.batch = batch;
        }

        @Override
        public void close() {
            assertFalse(released, "plan for batch " + batch + " released twice");
            released = true;
        }
    }

    private final List<Recorded> built = new ArrayList<>();

    private Recorded build(long[][] shapes) {
        if (shapes[0][0] == 13) {
            throw new Int8Network.PlanFailedException("no kernel for a batch of 13", true);
        }
        Recorded plan = new Recorded(shapes[0][0]);
        built.add(plan);
        return plan;
    }

    private static long[][] batch(long n) {
        return new long[][] {{n, 784}};
    }

    @Test
    void keepsAtMostItsCapacityAndReleasesTheLeastRecentlyUsed() {
        PlanCache<Recorded> cache = new PlanCache<>();
        cache.capacity(3);
        for (long n = 1; n <= 3; n++) {
            cache.acquire(batch(n), this::build).close();
        }
        cache.acquire(batch(1), this::build).close(); // 1 is now the most recent: 2 is the oldest
        cache.acquire(batch(4), this::build).close();
        assertEquals(3, cache.size());
        assertEquals(4, cache.built());
        assertTrue(built.get(1).released, "batch 2, least recently used, was released");
        assertFalse(built.get(0).released || built.get(2).released || built.get(3).released);
        try (var again = cache.acquire(batch(1), this::build)) {
            assertSame(built.get(0), again.plan(), "a cached plan is reused, not rebuilt");
        }
        cache.capacity(1);
        assertEquals(1, cache.size());
        assertEquals(3, built.stream().filter(p -> p.released).count(), "lowering the capacity releases plans");
    }

    @Test
    void aPlanInUseIsReleasedWhenItsLastCallEnds() {
        PlanCache<Recorded> cache = new PlanCache<>();
        cache.capacity(1);
        var running = cache.acquire(batch(1), this::build);
        cache.acquire(batch(2), this::build).close();
        assertFalse(built.get(0).released, "evicted while a call runs it: kept until that call ends");
        running.close();
        assertTrue(built.get(0).released);
        running.close(); // a second close is harmless (Recorded fails on a double release)
        cache.close();
        assertTrue(built.get(1).released, "closing the cache releases every plan");
    }

    @Test
    void aFailedShapeIsRememberedAndLeavesOtherShapesAlone() {
        PlanCache<Recorded> cache = new PlanCache<>();
        cache.acquire(batch(8), this::build).close();
        Int8Network.PlanFailedException first = assertThrows(Int8Network.PlanFailedException.class,
                () -> cache.acquire(batch(13), this::build));
        assertTrue(first.firstTime());
        Int8Network.PlanFailedException again = assertThrows(Int8Network.PlanFailedException.class,
                () -> cache.acquire(batch(13), this::build));
        assertFalse(again.firstTime(), "the failure is remembered, not rebuilt");
        assertEquals(first.getMessage(), again.getMessage());
        try (var other = cache.acquire(batch(8), this::build)) {
            assertSame(built.get(0), other.plan(), "the other shape keeps its plan");
        }
        assertEquals(1, cache.failures().size());
        assertEquals(13, cache.failures().get(0).shapes().get(0)[0]);
        assertTrue(cache.failures().get(0).reason().contains("batch of 13"));
    }

    @Test
    void aCapacityBelowOneIsRefused() {
        PlanCache<Recorded> cache = new PlanCache<>();
        assertThrows(IllegalArgumentException.class, () -> cache.capacity(0));
        assertEquals(PlanCache.DEFAULT_CAPACITY, cache.capacity());
    }
}
