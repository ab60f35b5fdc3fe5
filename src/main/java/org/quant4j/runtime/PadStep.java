package org.quant4j.runtime;

import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A constant padding of a float array (rank 1 to 4, C order): a new array of the padded shape filled with the value,
 * each input row (the last dimension) copied into place with one {@code memcpy}. The result is exact: the values are
 * moved, not computed.
 */
final class PadStep extends PlanStep {

    private final Value src;
    private final Value dst;
    private final long[] in;
    private final long[] out;
    private final long[] before;
    private final float value;

    PadStep(String label, Value src, Value dst, long[] before, long[] after, float value) {
        super(label, src.slot());
        this.src = src;
        this.dst = dst;
        this.in = src.shape().clone();
        this.out = paddedShape(in, before, after);
        this.before = before.clone();
        this.value = value;
    }

    /** {@code shape} grown by {@code before} and {@code after} in each dimension. */
    static long[] paddedShape(long[] shape, long[] before, long[] after) {
        long[] padded = new long[shape.length];
        for (int d = 0; d < shape.length; d++) {
            padded[d] = shape[d] + before[d] + after[d];
        }
        return padded;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        INDArray a = Layouts.denseFloat((INDArray) s[src.slot()]);
        if (!Arrays.equals(a.shape(), in)) {
            throw new IllegalArgumentException(label + ": expected an input of shape " + Arrays.toString(in)
                    + ", got " + Arrays.toString(a.shape()));
        }
        INDArray padded = value == 0 ? Nd4j.create(DataType.FLOAT, out)
                : Nd4j.createUninitialized(DataType.FLOAT, out).assign(value);
        BytePointer from = new BytePointer(Layouts.hostPointer(a));
        BytePointer to = new BytePointer(padded.data().addressPointer());
        // Pad the shape to rank 4 in front (size 1, no padding) and copy row by row.
        int lead = 4 - in.length;
        long[] i4 = new long[4];
        long[] o4 = new long[4];
        long[] b4 = new long[4];
        Arrays.fill(i4, 1);
        Arrays.fill(o4, 1);
        System.arraycopy(in, 0, i4, lead, in.length);
        System.arraycopy(out, 0, o4, lead, out.length);
        System.arraycopy(before, 0, b4, lead, before.length);
        long rowBytes = i4[3] * Float.BYTES;
        for (long n = 0; n < i4[0]; n++) {
            for (long c = 0; c < i4[1]; c++) {
                for (long h = 0; h < i4[2]; h++) {
                    long source = ((n * i4[1] + c) * i4[2] + h) * i4[3];
                    long target = (((n + b4[0]) * o4[1] + c + b4[1]) * o4[2] + h + b4[2]) * o4[3] + b4[3];
                    Pointer.memcpy(to.position(target * Float.BYTES), from.position(source * Float.BYTES), rowBytes);
                }
            }
        }
        s[dst.slot()] = padded;
    }

    @Override
    int[] madeArrays() {
        return new int[] {dst.slot()};
    }
}
