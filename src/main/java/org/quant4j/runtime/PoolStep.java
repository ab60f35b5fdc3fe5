package org.quant4j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/** A pooling primitive ({@link Pool2d}) from {@code src} into a new buffer for {@code dst}. */
final class PoolStep extends PlanStep {

    private final Pool2d pool;
    private final Value src;
    private final Value dst;

    PoolStep(String label, Pool2d pool, Value src, Value dst) {
        super(label, src.slot());
        this.pool = pool;
        this.src = src;
        this.dst = dst;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        BytePointer p = buffers.take(pool.dstBytes());
        s[dst.slot()] = p;
        pool.execute((Pointer) s[src.slot()], p);
    }

    @Override
    public void close() {
        pool.close();
    }
}
