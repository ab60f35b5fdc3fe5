package org.quant4j.runtime;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense product whose data input is quantized per call ({@link DynamicDenseLowering}): from the f32 input
 * {@code x} [N, F],
 * <pre>
 *   s = max(max |x|, MIN_RANGE) / 127,  q = clip(rint(x / s), -127, 127)       (as graph.DynamicInputs, in float)
 *   y = s * (s_w[o] * sum_c q[n, c] W_q[c, o]) + b[o]                        (int8 GEMM, s8 x s8 -> s32 -> f32)
 * </pre>
 * the fake-quant graph's {@code (q s) · (W_q s_w) + b} up to float rounding. Thread-safe: a call's buffers come from
 * its {@link PlanBuffers}.
 */
final class DynamicDenseStep extends PlanStep {

    private final Value x;
    private final Value out;
    private final int rows;
    private final int features;
    private final int outputs;
    private final float[] bias;
    private final Int8Dense dense;

    /**
     * @param levels       the weights' levels as O x F (one row per output)
     * @param weightScales the weights' scale per output (or one)
     * @param bias         the bias per output, or null
     */
    DynamicDenseStep(String label, Value x, Value out, int rows, int features, int outputs, byte[] levels,
            float[] weightScales, float[] bias) {
        super(label, x.slot());
        this.x = x;
        this.out = out;
        this.rows = rows;
        this.features = features;
        this.outputs = outputs;
        this.bias = bias;
        this.dense = new Int8Dense(rows, features, outputs, ElementType.S8, ElementType.F32, levels, null,
                weightScales, false);
    }

    long macs() {
        return (long) rows * features * outputs;
    }

    @Override
    void run(Object[] slots, PlanBuffers buffers) {
        int n = rows * features;
        float[] values = new float[n];
        new FloatPointer((Pointer) slots[x.slot()]).capacity(n).get(values);
        BytePointer levels = buffers.take(n);
        BytePointer dst = buffers.take((long) rows * outputs * Float.BYTES);
        try {
            float s = LstmStep.quantize(values, levels.capacity(n).asBuffer());
            dense.execute(levels, dst);
            FloatBuffer y = new FloatPointer(dst).capacity((long) rows * outputs).asBuffer();
            for (int r = 0; r < rows; r++) {
                int base = r * outputs;
                for (int o = 0; o < outputs; o++) {
                    y.put(base + o, s * y.get(base + o) + (bias == null ? 0f : bias[o]));
                }
            }
        } finally {
            buffers.give(levels);
        }
        slots[out.slot()] = dst;
    }

    @Override
    public void close() {
        dense.close();
    }
}
