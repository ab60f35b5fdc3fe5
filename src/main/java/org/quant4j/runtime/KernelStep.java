package org.quant4j.runtime;

import java.util.function.BiConsumer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * An int8 kernel ({@link Int8Conv2d}, {@link Int8Dense}) from the levels of {@code x} into a new buffer; with a
 * residual (oneDNN's sum post-op, which adds into the destination), into the residual's own buffer when no one reads
 * it later, else into a copy of it.
 */
final class KernelStep extends PlanStep {

    private final Value x;
    private final Value residual;
    private final Value out;
    private final long dstBytes;
    private final BiConsumer<Pointer, Pointer> execute;
    private final AutoCloseable kernel;

    /**
     * @param residual the term the kernel adds into, or null
     * @param execute  the kernel's execute (source, destination)
     * @param kernel   what closing the step closes
     */
    KernelStep(String label, Value x, Value residual, Value out, long dstBytes, BiConsumer<Pointer, Pointer> execute,
            AutoCloseable kernel) {
        super(label, residual == null ? new int[] {x.slot()} : new int[] {x.slot(), residual.slot()});
        this.x = x;
        this.residual = residual;
        this.out = out;
        this.dstBytes = dstBytes;
        this.execute = execute;
        this.kernel = kernel;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        run(s, buffers, false);
    }

    @Override
    void run(Object[] s, PlanBuffers buffers, boolean mayConsume) {
        Pointer dst;
        if (residual == null) {
            dst = buffers.take(dstBytes);
        } else if (mayConsume) {
            dst = (Pointer) s[residual.slot()];
            s[residual.slot()] = null;
        } else {
            dst = buffers.take(dstBytes);
            Pointer.memcpy(dst, (Pointer) s[residual.slot()], dstBytes);
        }
        s[out.slot()] = dst;
        execute.accept((Pointer) s[x.slot()], dst);
    }

    @Override
    int consumable() {
        return residual == null ? -1 : residual.slot();
    }

    @Override
    public void close() {
        try {
            kernel.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
