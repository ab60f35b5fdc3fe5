package org.quant4j.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * The native buffers of one call of an {@link Int8Plan} at a time, kept from call to call: a step takes a buffer
 * for the value it writes ({@link #take}), the plan gives it back after the last step reading it ({@link #give}),
 * and the next step needing as many bytes gets the same memory. A plan run from several threads keeps one set per
 * concurrent call (as {@link PrimitiveRunner} keeps execution contexts), so no call allocates once the sets have
 * seen every buffer size; a set holds at most what one call needs at its peak, per size. Buffers are
 * {@linkplain AlignedMemory aligned} to 64 bytes. Not thread-safe: one call at a time.
 */
final class PlanBuffers implements AutoCloseable {

    private final Map<Long, ArrayDeque<BytePointer>> idle = new HashMap<>();
    /** Every buffer of the set, by address, with its size. */
    private final Map<Long, BytePointer> owned = new HashMap<>();
    private final List<BytePointer> all = new ArrayList<>();
    /** The addresses of the buffers given back and not taken again (a buffer given twice is kept once). */
    private final java.util.Set<Long> given = new java.util.HashSet<>();

    /** A buffer of {@code bytes} bytes (its content is whatever the last user left). */
    BytePointer take(long bytes) {
        ArrayDeque<BytePointer> free = idle.get(bytes);
        BytePointer p = free == null ? null : free.poll();
        if (p != null) {
            given.remove(p.address());
        } else {
            p = AlignedMemory.bytes(bytes);
            owned.put(p.address(), p);
            all.add(p);
        }
        return p;
    }

    /** A buffer of {@code count} floats, over a {@link #take} buffer. */
    FloatPointer takeFloats(long count) {
        return new FloatPointer(take(count * Float.BYTES)).capacity(count);
    }

    /**
     * Gives back a buffer no step reads any more: one of this set's (or a view at its start) is kept for the next
     * taker; any other pointer is closed.
     */
    void give(Pointer p) {
        BytePointer mine = p.position() == 0 ? owned.get(p.address()) : null;
        if (mine == null) {
            p.close();
            return;
        }
        if (given.add(mine.address())) {
            idle.computeIfAbsent(mine.capacity(), k -> new ArrayDeque<>()).push(mine);
        }
    }

    /** The native bytes the set holds. */
    long bytes() {
        return all.stream().mapToLong(BytePointer::capacity).sum();
    }

    @Override
    public void close() {
        all.forEach(Pointer::close);
        all.clear();
        owned.clear();
        idle.clear();
        given.clear();
    }
}
