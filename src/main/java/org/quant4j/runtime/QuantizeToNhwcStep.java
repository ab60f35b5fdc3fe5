package org.quant4j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.range.QuantGrid;

/**
 * The levels of a quantization point from an NCHW array (a network input, an fp32 island's output): quantized in
 * the array's own layout first ({@link LevelConversion#quantizeNchw}, the same IEEE division, clip and round as
 * every quantize step), then the levels transposed to NHWC ({@link NhwcReorder} of bytes). Transposing the floats
 * first and quantizing after, as the plan did, moves four times the bytes through the transpose: a 1x1 convolution
 * 256 -&gt; 64 reading an f32 NCHW batch of 8 lost 2x to ONNX Runtime, which quantizes first (issue 21).
 */
final class QuantizeToNhwcStep extends PlanStep {

    private final Value src;
    private final Value dst;
    private final LevelConversion quantize;
    private final NhwcReorder transpose;

    QuantizeToNhwcStep(String label, Value src, Value dst, float[] scales, int[] zeroPoints, QuantGrid grid) {
        super(label, src.slot());
        this.src = src;
        this.dst = dst;
        LevelConversion q = LevelConversion.quantizeNchw(src.shape(), scales, zeroPoints, grid);
        try {
            this.transpose = new NhwcReorder(src.shape(), dst.type());
        } catch (RuntimeException e) {
            q.close();
            throw e;
        }
        this.quantize = q;
    }

    @Override
    void run(Object[] s, PlanBuffers buffers) {
        INDArray a = (INDArray) s[src.slot()];
        INDArray source = Layouts.denseFloat(a);
        BytePointer nchw = buffers.take(dst.bytes());
        quantize.execute(Layouts.hostPointer(source), nchw);
        BytePointer nhwc = buffers.take(dst.bytes());
        transpose.execute(nchw, nhwc);
        buffers.give(nchw);
        s[dst.slot()] = nhwc;
    }

    @Override
    public void close() {
        quantize.close();
        transpose.close();
    }
}
