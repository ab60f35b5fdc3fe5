package org.quant4j.memory;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import org.bytedeco.javacpp.Pointer;

/**
 * This process's memory, read after a forced collection has let ND4J free the native memory of every unreachable
 * array: its resident set (JavaCPP's {@link Pointer#physicalBytes()}: VmRSS on Linux) and its Java heap's live set
 * (the heap in use just after that collection, as the collector reports it).
 *
 * <p>ND4J's CPU buffers are allocated by libnd4j and counted by no allocation counter that Java can read
 * ({@code Pointer.totalBytes()} counts JavaCPP's own allocations only, ND4J's {@code AllocationsTracker} constants,
 * shapes and workspaces only); they are freed when the garbage collector has found their arrays unreachable and
 * ND4J's deallocator thread has run. So a reading is: collect, wait for the deallocator, collect again, until the
 * resident set stops falling. Such a reading is the model's memory only in a JVM that has run nothing else: the
 * tests that use it are tagged {@code memory}, and the build runs each of their classes in a fresh JVM with a heap
 * of fixed size, committed and touched at start (the parent pom's {@code memory-tests} execution), so that the
 * resident set moves with native memory and not as the heap grows.
 */
public final class ProcessMemory {

    /** One reading: resident set and used heap, in bytes. */
    public record Sample(long residentBytes, long heapBytes) {
    }

    /** A fall of the resident set by more than this between two collections: ND4J's deallocator is still freeing. */
    private static final long RESIDENT_SETTLED_BYTES = 1L << 20;
    /** A fall of the heap's live set by more than this: objects kept for one more collection (finalizers) remain. */
    private static final long HEAP_SETTLED_BYTES = 64L << 10;
    private static final int MAX_COLLECTIONS = 10;
    private static final long SETTLE_MILLIS = 100;

    private ProcessMemory() {
    }

    /**
     * Reads the process's memory once the collector and ND4J's deallocator have freed what is unreachable: collects,
     * waits, reads; again until neither the resident set nor the heap's live set falls any more.
     */
    public static Sample settled() {
        Sample previous = new Sample(Long.MAX_VALUE, Long.MAX_VALUE);
        Sample now = previous;
        for (int i = 0; i < MAX_COLLECTIONS; i++) {
            System.gc();
            long heap = heapAfterLastCollection();
            sleep();
            now = new Sample(Pointer.physicalBytes(), heap);
            if (previous.residentBytes() - now.residentBytes() < RESIDENT_SETTLED_BYTES
                    && previous.heapBytes() - now.heapBytes() < HEAP_SETTLED_BYTES) {
                break;
            }
            previous = now;
        }
        return now;
    }

    /** The heap in use just after the last collection, summed over the heap's pools: its live set after a full GC. */
    private static long heapAfterLastCollection() {
        long used = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage afterGc = pool.getType() == MemoryType.HEAP ? pool.getCollectionUsage() : null;
            if (afterGc != null) {
                used += afterGc.getUsed();
            }
        }
        return used;
    }

    /**
     * Skips the calling test unless it runs where its readings are the model's: in the build's memory-tests execution
     * (which sets {@code quant4j.memoryTestJvm}: a fresh JVM per class, a fixed heap), on a platform where JavaCPP
     * reads the resident set.
     */
    public static void assumeMemoryTestJvm() {
        assumeTrue(Boolean.getBoolean("quant4j.memoryTestJvm"), "memory tests measure only in a JVM of their own:"
                + " mvn verify (execution memory-tests), or -Dtest=... with mvn verify");
        assumeTrue(Pointer.physicalBytes() > 0, "JavaCPP cannot read the resident set on this platform");
    }

    /** The process's peak resident set, as Linux reports it ({@code VmHWM}, e.g. "1254812 kB"), or "unknown". */
    public static String peakResident() throws java.io.IOException {
        java.nio.file.Path status = java.nio.file.Path.of("/proc/self/status");
        if (!java.nio.file.Files.isReadable(status)) {
            return "unknown";
        }
        return java.nio.file.Files.readAllLines(status).stream().filter(l -> l.startsWith("VmHWM:"))
                .map(l -> l.substring(6).trim()).findFirst().orElse("unknown");
    }

    private static void sleep() {
        try {
            Thread.sleep(SETTLE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while memory settled", e);
        }
    }
}
