package org.quant4j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * {@code src} converted into a new buffer for {@code dst} by a {@link LevelConversion}: the levels of a
 * quantization point from f32 values (quantize), or f32 values from levels (dequantize).
 */
final class LevelConversionStep extends PlanStep {

    private final LevelConversion conversion;
    private final Value src;
    private final Value dst;

    LevelConversionStep(String label, LevelConversion conversion, Value src, Value dst) {
        super(label, src.slot());
        this.conversion = conversion;
        this.src = src;
        this.dst = dst;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        BytePointer buffer = buffers.take(dst.bytes());
        s[dst.slot()] = buffer;
        conversion.execute((Pointer) s[src.slot()], buffer);
    }

    @Override
    public void close() {
        conversion.close();
    }
}
