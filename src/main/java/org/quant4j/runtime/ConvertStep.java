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

    /** Whether this step makes a new ND4J array (which the plan may release once no step reads it). */
    boolean makesArray() {
        return dst.kind() == Value.Kind.ND4J && src.kind() != Value.Kind.ND4J;
    }

    /** The slot written. */
    int target() {
        return dst.slot();
    }

    @Override
    void run(Object[] s) {
        s[dst.slot()] = dst.kind() == Value.Kind.F32 ? Layouts.toF32(src, s[src.slot()])
                : Layouts.toArray(src, s[src.slot()]);
    }
}
