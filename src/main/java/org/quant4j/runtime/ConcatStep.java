package org.quant4j.runtime;

import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/** The f32 concat primitive ({@link Concatenation}) of {@code sources} into a new buffer for {@code dst}. */
final class ConcatStep extends PlanStep {

    private final Concatenation primitive;
    private final Value[] sources;
    private final Value dst;

    ConcatStep(String label, Concatenation primitive, Value[] sources, Value dst) {
        super(label, Arrays.stream(sources).mapToInt(Value::slot).toArray());
        this.primitive = primitive;
        this.sources = sources;
        this.dst = dst;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        BytePointer p = buffers.take(primitive.dstBytes());
        s[dst.slot()] = p;
        Pointer[] args = new Pointer[sources.length + 1];
        for (int i = 0; i < sources.length; i++) {
            args[i] = (Pointer) s[sources[i].slot()];
        }
        args[sources.length] = p;
        primitive.execute(args);
    }

    @Override
    public void close() {
        primitive.close();
    }
}
