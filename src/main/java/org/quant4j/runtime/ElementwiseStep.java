package org.quant4j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/** An f32 element-wise primitive ({@link Elementwise}) of one or two values into a new buffer for {@code dst}. */
final class ElementwiseStep extends PlanStep {

    private final Elementwise primitive;
    private final Value first;
    private final Value second;
    private final Value dst;

    /** {@code second}: the other term of a binary primitive, or null. */
    ElementwiseStep(String label, Elementwise primitive, Value first, Value second, Value dst) {
        super(label, second == null ? new int[] {first.slot()} : new int[] {first.slot(), second.slot()});
        this.primitive = primitive;
        this.first = first;
        this.second = second;
        this.dst = dst;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        BytePointer p = buffers.take(dst.bytes());
        s[dst.slot()] = p;
        primitive.execute((Pointer) s[first.slot()], second == null ? null : (Pointer) s[second.slot()], p);
    }

    @Override
    public void close() {
        primitive.close();
    }
}
