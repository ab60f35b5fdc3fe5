package org.quant4j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Native memory for oneDNN, aligned to {@value #ALIGNMENT} bytes (a cache line, an AVX-512 vector). JavaCPP's
 * {@code new BytePointer(n)} returns whatever the C++ allocator gives (16 bytes aligned here): reordered dense
 * weights landing at 16 mod 64 made oneDNN's inner product 3 to 4 times slower than the same call on aligned
 * weights, so every buffer an int8 kernel reads or writes (weights, biases, scratchpads, the plan's activations)
 * comes from here. The memory is zeroed ({@code calloc}) and freed when the pointer is closed or collected.
 */
final class AlignedMemory {

    /** The alignment of every buffer, in bytes. */
    static final int ALIGNMENT = 64;

    private AlignedMemory() {
    }

    /** {@code bytes} zeroed bytes at an address that is a multiple of {@value #ALIGNMENT}. */
    static BytePointer bytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size: " + bytes + " bytes");
        }
        return new Aligned(bytes);
    }

    /** {@code values} in an aligned buffer of floats. */
    static FloatPointer floats(float[] values) {
        FloatPointer p = floats(values.length);
        p.put(values);
        return p;
    }

    /** {@code count} zeroed floats, aligned; closing the result frees the memory. */
    static FloatPointer floats(long count) {
        return new AlignedFloats(count);
    }

    /** Whether {@code p}'s address (its position included) is a multiple of {@value #ALIGNMENT}. */
    static boolean aligned(Pointer p) {
        return (p.address() + p.position() * p.sizeof()) % ALIGNMENT == 0;
    }

    private static Pointer allocate(long bytes) {
        Pointer raw = Pointer.calloc(bytes + ALIGNMENT, 1);
        if (raw == null || raw.isNull()) {
            throw new OutOfMemoryError("could not allocate " + bytes + " bytes of native memory");
        }
        return raw;
    }

    private static long alignUp(long address) {
        return (address + ALIGNMENT - 1) & -ALIGNMENT;
    }

    private static final class Aligned extends BytePointer {

        /** Frees the block an aligned pointer lies in (the pointer's address is not the block's). */
        static final class Free implements Deallocator {
            private final Pointer raw;

            Free(Pointer raw) {
                this.raw = raw;
            }

            @Override
            public void deallocate() {
                Pointer.free(raw);
            }
        }

        Aligned(long bytes) {
            super((Pointer) null);
            Pointer raw = allocate(bytes);
            address = alignUp(raw.address());
            capacity = bytes;
            limit = bytes;
            deallocator(new Free(raw));
        }
    }

    private static final class AlignedFloats extends FloatPointer {
        AlignedFloats(long count) {
            super((Pointer) null);
            Pointer raw = allocate(count * Float.BYTES);
            address = alignUp(raw.address());
            capacity = count;
            limit = count;
            deallocator(new Aligned.Free(raw));
        }
    }
}
