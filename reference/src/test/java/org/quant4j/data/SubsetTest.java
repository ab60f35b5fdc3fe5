package org.quant4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** Choosing the examples of a subset. */
class SubsetTest {

    @Test
    void allAndFirst() {
        assertArrayEquals(new int[] {0, 1, 2, 3}, Subset.all().indices(4));
        assertArrayEquals(new int[] {0, 1, 2}, Subset.first(3).indices(10));
    }

    @Test
    void randomIsSeededDistinctSortedAndInRange() {
        int[] a = Subset.random(500, 42L).indices(60_000);
        assertArrayEquals(a, Subset.random(500, 42L).indices(60_000), "same seed, same examples");
        assertFalse(Arrays.equals(a, Subset.random(500, 43L).indices(60_000)), "other seed, other examples");
        assertEquals(500, a.length);
        assertEquals(500, Arrays.stream(a).distinct().count());
        for (int i = 1; i < a.length; i++) {
            assertTrue(a[i - 1] < a[i]);
        }
        assertTrue(a[0] >= 0 && a[a.length - 1] < 60_000);
        assertTrue(a[a.length - 1] > 30_000, "spread over the split, not the first examples");
        assertArrayEquals(Subset.all().indices(7), Subset.random(7, 1L).indices(7), "n == total takes all");
    }

    @Test
    void invalidSizes() {
        assertThrows(IllegalArgumentException.class, () -> Subset.first(0));
        assertThrows(IllegalArgumentException.class, () -> Subset.random(-1, 0L));
        assertThrows(IllegalArgumentException.class, () -> Subset.first(11).indices(10));
    }
}
