package org.quant4j.runtime;

/**
 * A value into another way of holding it, in Java ({@link Layouts}): into an f32 buffer (flattened levels, arrays
 * not of rank 4) or into an ND4J array (for islands and outputs).
 */
final class ConvertStep extends PlanStep {

    private final Value src;
    private final Value dst;

    ConvertStep(Value src, Value dst) {
        super("convert " + src + " to " + dst.kind(), src.slot());
        this.src = src;
        this.dst = dst;
    }

    @Override
    int[] madeArrays() {
        return dst.kind() == Value.Kind.ND4J && src.kind() != Value.Kind.ND4J ? new int[] {dst.slot()} : new int[0];
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        s[dst.slot()] = dst.kind() == Value.Kind.F32 ? Layouts.toF32(src, s[src.slot()], buffers)
                : Layouts.toArray(src, s[src.slot()]);
    }
}
