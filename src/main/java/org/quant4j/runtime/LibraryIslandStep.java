package org.quant4j.runtime;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An fp32 island run as the library op itself: one {@code Nd4j.exec} of the custom op {@code opName} per call, with
 * the graph op's arguments, on ND4J arrays.
 */
final class LibraryIslandStep extends PlanStep {

    private final String opName;
    private final Object[] args;
    private final long[] iArgs;
    private final double[] tArgs;
    private final boolean[] bArgs;
    private final DataType[] dArgs;
    private final Value out;

    /** {@code args}: per input, a {@link Value} of the plan (read from its slot) or a constant {@link INDArray}. */
    LibraryIslandStep(String label, int[] reads, String opName, Object[] args, long[] iArgs, double[] tArgs,
            boolean[] bArgs, DataType[] dArgs, Value out) {
        super(label, reads);
        this.opName = opName;
        this.args = args;
        this.iArgs = iArgs;
        this.tArgs = tArgs;
        this.bArgs = bArgs;
        this.dArgs = dArgs;
        this.out = out;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        DynamicCustomOp call = DynamicCustomOp.builder(opName).build();
        for (Object a : args) {
            call.addInputArgument(a instanceof Value v ? (INDArray) s[v.slot()] : (INDArray) a);
        }
        call.addIArgument(iArgs);
        call.addTArgument(tArgs);
        call.addBArgument(bArgs);
        if (dArgs != null && dArgs.length > 0) {
            call.addDArgument(dArgs);
        }
        s[out.slot()] = Nd4j.exec(call)[0];
    }
}
