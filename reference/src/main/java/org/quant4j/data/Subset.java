package org.quant4j.data;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Which examples of a split to load: all of them, the first {@code n}, or {@code n} drawn at random
 * without replacement with a fixed seed (the same seed always gives the same examples).
 *
 * @param kind how examples are chosen
 * @param size number of examples for {@link Kind#FIRST} and {@link Kind#RANDOM}; ignored (0) for {@link Kind#ALL}
 * @param seed random seed for {@link Kind#RANDOM}; 0 otherwise
 */
public record Subset(Kind kind, int size, long seed) {

    /** How a subset's examples are chosen. */
    public enum Kind {
        /** Every example, in file order. */
        ALL,
        /** The first {@code size} examples, in file order. */
        FIRST,
        /** {@code size} distinct examples drawn with {@code seed}, returned in ascending index order. */
        RANDOM
    }

    public Subset {
        if (kind == null) {
            throw new IllegalArgumentException("kind must not be null");
        }
        if (kind != Kind.ALL && size <= 0) {
            throw new IllegalArgumentException("subset size must be positive, got " + size);
        }
    }

    /** Every example. */
    public static Subset all() {
        return new Subset(Kind.ALL, 0, 0L);
    }

    /** The first {@code n} examples. */
    public static Subset first(int n) {
        return new Subset(Kind.FIRST, n, 0L);
    }

    /** {@code n} distinct examples drawn at random with {@code seed}. */
    public static Subset random(int n, long seed) {
        return new Subset(Kind.RANDOM, n, seed);
    }

    /**
     * Indices chosen from a split of {@code total} examples, ascending and distinct.
     *
     * @throws IllegalArgumentException if the subset asks for more than {@code total} examples
     */
    public int[] indices(int total) {
        if (kind != Kind.ALL && size > total) {
            throw new IllegalArgumentException("subset of " + size + " examples requested from a split of " + total);
        }
        return switch (kind) {
            case ALL -> IntStream.range(0, total).toArray();
            case FIRST -> IntStream.range(0, size).toArray();
            case RANDOM -> {
                // Partial Fisher-Yates shuffle: the first `size` slots are a uniform sample without replacement.
                int[] all = IntStream.range(0, total).toArray();
                Random rnd = new Random(seed);
                for (int i = 0; i < size; i++) {
                    int j = i + rnd.nextInt(total - i);
                    int t = all[i];
                    all[i] = all[j];
                    all[j] = t;
                }
                int[] chosen = Arrays.copyOf(all, size);
                Arrays.sort(chosen);
                yield chosen;
            }
        };
    }
}
