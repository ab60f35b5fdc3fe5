package org.quant4j.runtime;

import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An fp32 island run as the library op itself, on ND4J arrays: one ND4J execution per call of a fresh op
 * ({@link LibraryIslandLowering} says which), never the graph's own op object, so that calls on several threads do
 * not share one.
 */
final class LibraryIslandStep extends PlanStep {

    private final Object[] args;
    private final Function<INDArray[], INDArray> op;
    private final Value out;

    /**
     * {@code args}: per input, a {@link Value} of the plan (read from its slot) or a constant {@link INDArray};
     * {@code op}: the output for those inputs.
     */
    LibraryIslandStep(String label, int[] reads, Object[] args, Function<INDArray[], INDArray> op, Value out) {
        super(label, reads);
        this.args = args;
        this.op = op;
        this.out = out;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        INDArray[] in = new INDArray[args.length];
        for (int i = 0; i < args.length; i++) {
            in[i] = args[i] instanceof Value v ? (INDArray) s[v.slot()] : (INDArray) args[i];
        }
        s[out.slot()] = op.apply(in);
    }
}
