package org.quant4j.runtime;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.quant4j.graph.DynamicInputs;

/**
 * A whole LSTM layer of the fake-quant graph ({@link LstmLowering}) as one step: the input products of all steps
 * are already computed (an int8 dense kernel, {@code P} [T N, 4 H], time-major rows, gate blocks [a, f, o, i]); per
 * step {@code t}
 * <pre>
 *   s     = max(max |h|, MIN_RANGE) / 127,  q = clip(rint(h / s), -127, 127)    (h_{t-1}: dynamic, DynamicInputs)
 *   z     = P_t + s * (s_w[o] * sum_c q[n, c] RW_q[c, o])                      (int8 GEMM, s8 x s8 -> s32 -> f32)
 *   a = g(z_a), f = sigmoid(z_f), o = sigmoid(z_o), i = sigmoid(z_i)     (g: the layer's tanh or sigmoid)
 *   c_t   = f c_{t-1} + i a,  h_t = o g(c_t)                                 (c_0 = i a; no product at t = 0)
 * </pre>
 * The four activations are one oneDNN logistic over the whole [N, 4 H] (vectorized), a tanh as
 * {@code tanh(x) = 2 sigmoid(2x) - 1} (the a block is doubled before), and {@code g(c)} likewise. The output
 * stacks the h_t: [N, T, H] (time axis 1) or [N, H, T] (time axis 2), f32. Thread-safe: a call's state lives in
 * buffers it takes from the call's {@link PlanBuffers} and in arrays of its own.
 */
final class LstmStep extends PlanStep {

    private final Value projections;
    private final Value out;
    private final int batch;
    private final int hidden;
    private final int steps;
    private final int timeAxis;
    /** Whether the layer's activation (block input and cell output) is tanh; else sigmoid. */
    private final boolean tanh;
    private final Int8Dense recurrent;
    private final Elementwise gates;
    private final Elementwise cells;

    /**
     * @param recurrentLevels the recurrent weights' levels as O x F = [4 H, H] (gate columns as rows)
     * @param recurrentScales the weights' scale per gate column (or one)
     */
    LstmStep(String label, Value projections, Value out, int batch, int hidden, int steps, int timeAxis,
            boolean tanh, byte[] recurrentLevels, float[] recurrentScales) {
        super(label, projections.slot());
        this.projections = projections;
        this.out = out;
        this.batch = batch;
        this.hidden = hidden;
        this.steps = steps;
        this.timeAxis = timeAxis;
        this.tanh = tanh;
        Int8Dense dense = new Int8Dense(batch, hidden, 4L * hidden, ElementType.S8, ElementType.F32,
                recurrentLevels, null, recurrentScales, false);
        Elementwise g = null;
        try {
            g = Elementwise.logistic(4L * batch * hidden);
            this.cells = Elementwise.logistic((long) batch * hidden);
        } catch (RuntimeException e) {
            dense.close();
            if (g != null) {
                g.close();
            }
            throw e;
        }
        this.recurrent = dense;
        this.gates = g;
    }

    /** Multiply-accumulates per call of the recurrent products. */
    long macs() {
        return (long) (steps - 1) * batch * hidden * 4L * hidden;
    }

    @Override
    void run(Object[] slots, PlanBuffers buffers) {
        int n = batch;
        int h4 = 4 * hidden;
        int cellCount = n * hidden;
        FloatBuffer p = new FloatPointer((Pointer) slots[projections.slot()]).capacity((long) steps * n * h4)
                .asBuffer();
        BytePointer dst = buffers.take((long) steps * cellCount * Float.BYTES);
        BytePointer levels = buffers.take(cellCount);
        FloatPointer acc = buffers.takeFloats((long) n * h4);
        FloatPointer z = buffers.takeFloats((long) n * h4);
        FloatPointer cellIn = buffers.takeFloats(cellCount);
        FloatPointer cellOut = buffers.takeFloats(cellCount);
        try {
            FloatBuffer y = new FloatPointer(dst).capacity((long) steps * cellCount).asBuffer();
            ByteBuffer q = levels.capacity(cellCount).asBuffer();
            FloatBuffer accB = acc.asBuffer();
            FloatBuffer zB = z.asBuffer();
            FloatBuffer cInB = cellIn.asBuffer();
            FloatBuffer cOutB = cellOut.asBuffer();
            float[] hState = new float[cellCount];
            float[] cState = new float[cellCount];
            float[] zRow = new float[h4];
            for (int t = 0; t < steps; t++) {
                float s = 0f;
                if (t > 0) {
                    s = quantize(hState, q);
                    recurrent.execute(levels, acc);
                }
                for (int r = 0; r < n; r++) {
                    p.get((t * n + r) * h4, zRow);
                    if (t > 0) {
                        int base = r * h4;
                        for (int k = 0; k < h4; k++) {
                            zRow[k] += s * accB.get(base + k);
                        }
                    }
                    for (int k = 0; tanh && k < hidden; k++) {
                        zRow[k] *= 2f; // block a: tanh(x) = 2 sigmoid(2x) - 1
                    }
                    zB.put(r * h4, zRow);
                }
                gates.execute(z, null, z);
                for (int r = 0; r < n; r++) {
                    zB.get(r * h4, zRow);
                    for (int k = 0; k < hidden; k++) {
                        int e = r * hidden + k;
                        float a = tanh ? 2f * zRow[k] - 1f : zRow[k];
                        float i = zRow[3 * hidden + k];
                        float c = t == 0 ? i * a : zRow[hidden + k] * cState[e] + i * a;
                        cState[e] = c;
                        cInB.put(e, tanh ? 2f * c : c);
                    }
                }
                cells.execute(cellIn, null, cellOut);
                for (int r = 0; r < n; r++) {
                    int base = r * h4 + 2 * hidden;
                    for (int k = 0; k < hidden; k++) {
                        int e = r * hidden + k;
                        float o = zB.get(base + k);
                        float v = o * (tanh ? 2f * cOutB.get(e) - 1f : cOutB.get(e));
                        hState[e] = v;
                        y.put(timeAxis == 1 ? (r * steps + t) * hidden + k : (r * hidden + k) * steps + t, v);
                    }
                }
            }
        } finally {
            buffers.give(levels);
            buffers.give(acc);
            buffers.give(z);
            buffers.give(cellIn);
            buffers.give(cellOut);
        }
        slots[out.slot()] = dst;
    }

    /**
     * Writes the dynamic levels of {@code h} into {@code q} and returns their scale, exactly as the fake-quant
     * graph's {@link DynamicInputs} ops compute them (float division, rint, clip).
     */
    static float quantize(float[] h, ByteBuffer q) {
        float amax = 0f;
        for (float v : h) {
            amax = Math.max(amax, Math.abs(v));
        }
        float s = Math.max(amax, DynamicInputs.MIN_RANGE) / DynamicInputs.QMAX;
        for (int e = 0; e < h.length; e++) {
            float level = (float) Math.rint(h[e] / s);
            q.put(e, (byte) Math.max(-DynamicInputs.QMAX, Math.min(DynamicInputs.QMAX, level)));
        }
        return s;
    }

    @Override
    public void close() {
        recurrent.close();
        gates.close();
        cells.close();
    }
}
