package org.quant4j.runtime;

import org.nd4j.linalg.api.ndarray.INDArray;

/** A rank-4 NCHW array into an f32 NHWC buffer, by oneDNN's reorder ({@link NhwcReorder}). */
final class ReorderStep extends PlanStep {

    private final Value src;
    private final Value dst;
    private final NhwcReorder reorder;

    ReorderStep(Value src, Value dst) {
        super("convert " + src + " to " + dst.kind(), src.slot());
        this.src = src;
        this.dst = dst;
        this.reorder = new NhwcReorder(src.shape());
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        s[dst.slot()] = reorder.toNhwc((INDArray) s[src.slot()], buffers);
    }

    @Override
    public void close() {
        reorder.close();
    }
}
