package org.quant4j.runtime;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.softmax_forward;
import org.bytedeco.javacpp.Pointer;

/**
 * Element-wise f32 operations through oneDNN over {@code n} contiguous values (the layout does not matter as long as
 * both operands share it): ReLU with a negative slope ({@code x >= 0 ? x : alpha x}, exact in float, as SameDiff's
 * relu and leaky ReLU compute it), the sum of two tensors ({@code a + b}, one rounding, as SameDiff's add), and the
 * logistic sigmoid {@code 1 / (1 + e^-x)} (oneDNN's vectorized exp: within 4 units in the last place of SameDiff's
 * sigmoid, measured). Also tanh, which the plan does not use: it differs from SameDiff's tanh by up to 251 units in
 * the last place. And the softmax of each row of a row-major {@code rows x cols} matrix,
 * {@code exp(x - max x) / sum exp(x - max x)} (a classifier's output). {@link #execute} is thread-safe.
 */
final class Elementwise implements AutoCloseable {

    private final memory.desc desc;
    private final primitive_desc_base pd;
    private final primitive primitive;
    private final boolean binaryOp;
    private final PrimitiveRunner runner;

    private Elementwise(long n, boolean binaryOp, dnnl.algorithm algorithm, float alpha) {
        this.binaryOp = binaryOp;
        desc = new memory.desc(new long[] {n}, memory.data_type.f32, memory.format_tag.x);
        if (binaryOp) {
            binary.primitive_desc p = new binary.primitive_desc(
                    new binary.desc(algorithm, desc, desc, desc), Primitives.threadSafe(),
                    Dnnl.engine());
            pd = p;
            primitive = new binary(p);
        } else {
            eltwise_forward.primitive_desc p = new eltwise_forward.primitive_desc(
                    new eltwise_forward.desc(dnnl.prop_kind.forward_inference, algorithm, desc,
                            alpha, 0f),
                    Primitives.threadSafe(), Dnnl.engine());
            pd = p;
            primitive = new eltwise_forward(p);
        }
        runner = binaryOp
                ? new PrimitiveRunner(primitive, pd,
                        new int[] {dnnl.DNNL_ARG_SRC_0, dnnl.DNNL_ARG_SRC_1, dnnl.DNNL_ARG_DST},
                        new memory.desc[] {desc, desc, desc}, java.util.Map.of())
                : new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_SRC, dnnl.DNNL_ARG_DST},
                        new memory.desc[] {desc, desc}, java.util.Map.of());
    }

    /** The softmax of each row of a row-major {@code rows x cols} f32 matrix. */
    private Elementwise(long rows, long cols) {
        this.binaryOp = false;
        desc = new memory.desc(new long[] {rows, cols}, memory.data_type.f32, memory.format_tag.ab);
        softmax_forward.primitive_desc p = new softmax_forward.primitive_desc(
                new softmax_forward.desc(dnnl.prop_kind.forward_inference, desc, 1), Primitives.threadSafe(),
                Dnnl.engine());
        pd = p;
        primitive = new softmax_forward(p);
        runner = new PrimitiveRunner(primitive, pd, new int[] {dnnl.DNNL_ARG_SRC, dnnl.DNNL_ARG_DST},
                new memory.desc[] {desc, desc}, java.util.Map.of());
    }

    /** {@code dst = softmax(src)} over each row of a row-major {@code rows x cols} matrix. */
    static Elementwise softmaxRows(long rows, long cols) {
        return new Elementwise(rows, cols);
    }

    /** {@code dst = src >= 0 ? src : alpha src} over n values. */
    static Elementwise relu(long n, float alpha) {
        return new Elementwise(n, false, dnnl.algorithm.eltwise_relu, alpha);
    }

    /** {@code dst = 1 / (1 + e^-src)} over n values. */
    static Elementwise logistic(long n) {
        return new Elementwise(n, false, dnnl.algorithm.eltwise_logistic, 0f);
    }

    /** {@code dst = tanh(src)} over n values. */
    static Elementwise tanh(long n) {
        return new Elementwise(n, false, dnnl.algorithm.eltwise_tanh, 0f);
    }

    /** {@code dst = a + b} over n values. */
    static Elementwise add(long n) {
        return new Elementwise(n, true, dnnl.algorithm.binary_add, 0f);
    }

    /** Runs the operation; {@code b} is null for the unary ones. */
    void execute(Pointer a, Pointer b, Pointer dst) {
        if (binaryOp) {
            runner.execute(a, b, dst);
        } else {
            runner.execute(a, dst);
        }
    }

    @Override
    public void close() {
        runner.close();
        primitive.close();
        pd.close();
    }
}
