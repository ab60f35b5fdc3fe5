package org.quant4j.runtime;

import java.util.Arrays;
import java.util.Map;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * A rank-4 array in the graph's layout (NCHW) into an f32 NHWC buffer, through oneDNN's reorder: a copy (exact),
 * vectorized, straight from the array's memory, where a Java permute-and-copy took 3 to 5 ms for ResNet-50's input
 * batch of 8. Made once per plan step (one shape); {@link #toNhwc} is thread-safe.
 */
final class NhwcReorder implements AutoCloseable {

    private final long[] shape;
    private final reorder.primitive_desc pd;
    private final reorder primitive;
    private final PrimitiveRunner runner;

    NhwcReorder(long[] shape) {
        if (shape.length != 4) {
            throw new IllegalArgumentException("expected an NCHW shape, got " + Arrays.toString(shape));
        }
        this.shape = shape.clone();
        memory.desc src = new memory.desc(shape, memory.data_type.f32, memory.format_tag.nchw);
        memory.desc dst = new memory.desc(shape, memory.data_type.f32, memory.format_tag.nhwc);
        pd = new reorder.primitive_desc(Dnnl.engine(), src, Dnnl.engine(), dst, Primitives.threadSafe(), false);
        primitive = new reorder(pd);
        runner = new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_FROM, dnnl.DNNL_ARG_TO},
                new memory.desc[] {src, dst}, Map.of());
    }

    /** The array (of this shape, NCHW) as a new NHWC f32 buffer. */
    FloatPointer toNhwc(INDArray array) {
        if (!Arrays.equals(array.shape(), shape)) {
            throw new IllegalArgumentException("expected an array of shape " + Arrays.toString(shape) + ", got "
                    + Arrays.toString(array.shape()));
        }
        boolean dense = array.dataType() == DataType.FLOAT && array.ordering() == 'c' && array.offset() == 0
                && Shape.hasDefaultStridesForShape(array);
        INDArray source = dense ? array : array.castTo(DataType.FLOAT).dup('c');
        FloatPointer dst = new FloatPointer(array.length());
        runner.execute(source.data().addressPointer(), dst);
        return dst;
    }

    @Override
    public void close() {
        runner.close();
        primitive.close();
        pd.close();
    }
}
