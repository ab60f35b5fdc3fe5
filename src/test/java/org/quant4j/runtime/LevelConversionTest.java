package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.quant4j.range.QuantGrid;

/**
 * The plan's quantize and dequantize steps ({@link LevelConversion}, oneDNN) against the fake-quant graph's formulas written out element by element:
 * {@code clamp(rint(x / s_c), qmin, qmax)} and {@code q * s_c}, with c the index modulo the channels. Buffers of
 * several chunks whose channel count does not divide the chunk, exact ties between two levels, values beyond the
 * grid, per-tensor and per-channel scales, unsigned and signed grids.
 */
class LevelConversionTest {

    @Test
    void quantizeAndDequantizeEqualTheFakeQuantFormulas() {
        Random random = new Random(11);
        for (int channels : new int[] {1, 3, 64, 7}) {
            for (QuantGrid grid : new QuantGrid[] {new QuantGrid(8, false), new QuantGrid(8, true),
                    new QuantGrid(4, false), new QuantGrid(7, true)}) {
                int elements = channels * 9_001; // > 2 chunks of 2^14 elements for all but one channel
                float[] scales = new float[channels];
                for (int c = 0; c < channels; c++) {
                    scales[c] = 0.01f + random.nextFloat();
                }
                float[] x = new float[elements];
                for (int i = 0; i < elements; i++) {
                    float s = scales[i % channels];
                    x[i] = switch (i % 4) {
                        case 0 -> (random.nextInt(40) - 20 + 0.5f) * s; // a tie, or the nearest float to one
                        case 1 -> (float) random.nextGaussian() * 300 * s; // far beyond the grid, both sides
                        default -> (float) random.nextGaussian() * grid.qmax() * s / 2;
                    };
                }
                float[] pointScales = channels == 1 ? new float[] {scales[0]} : scales;
                try (FloatPointer src = new FloatPointer(x);
                        BytePointer levels = new BytePointer(elements);
                        FloatPointer back = new FloatPointer(elements);
                        LevelConversion quantize = LevelConversion.quantize(elements, pointScales, grid);
                        LevelConversion dequantize = LevelConversion.dequantize(elements, pointScales,
                                grid.signed() ? ElementType.S8 : ElementType.U8)) {
                    quantize.execute(src, levels);
                    dequantize.execute(levels, back);
                    byte[] q = new byte[elements];
                    levels.get(q);
                    float[] d = new float[elements];
                    back.get(d);
                    for (int i = 0; i < elements; i++) {
                        float s = scales[channels == 1 ? 0 : i % channels];
                        int expected = (int) Math.max(grid.qmin(), Math.min(grid.qmax(), Math.rint(x[i] / s)));
                        int actual = grid.signed() ? q[i] : Byte.toUnsignedInt(q[i]);
                        String where = channels + " channels, " + grid + ", element " + i + " (x = " + x[i] + ")";
                        assertEquals(expected, actual, where);
                        assertEquals(expected * s, d[i], 0f, where);
                    }
                }
            }
        }
    }

    /**
     * An NCHW batch quantized in its own layout, then its levels transposed to NHWC (the plan's quantize step at
     * network inputs and island outputs): every level at its NHWC place equals the formula on the NCHW value. Few
     * channels (interleaved in Java, over several chunks of pixels) and many (oneDNN's reorder of bytes).
     */
    @Test
    void quantizingNchwThenTransposingEqualsTheFormulaAtEveryNhwcPlace() {
        Random random = new Random(13);
        for (long[] shape : new long[][] {{2, 3, 70, 90}, {3, 16, 9, 11}, {1, 1, 5, 5}}) {
            int n = (int) shape[0];
            int channels = (int) shape[1];
            int pixels = (int) (shape[2] * shape[3]);
            int elements = n * channels * pixels;
            for (boolean perChannel : new boolean[] {true, false}) {
                for (QuantGrid grid : new QuantGrid[] {new QuantGrid(8, false), new QuantGrid(8, true)}) {
                    float[] scales = new float[perChannel ? channels : 1];
                    for (int c = 0; c < scales.length; c++) {
                        scales[c] = 0.01f + random.nextFloat();
                    }
                    float[] x = new float[elements]; // NCHW
                    for (int i = 0; i < elements; i++) {
                        float s = scales[perChannel ? (i / pixels) % channels : 0];
                        x[i] = i % 3 == 0 ? (random.nextInt(40) - 20 + 0.5f) * s
                                : (float) random.nextGaussian() * grid.qmax() * s;
                    }
                    ElementType type = grid.signed() ? ElementType.S8 : ElementType.U8;
                    try (FloatPointer src = new FloatPointer(x);
                            BytePointer nchw = new BytePointer(elements);
                            BytePointer nhwc = new BytePointer(elements);
                            LevelConversion quantize = LevelConversion.quantizeNchw(shape, scales, grid);
                            NhwcReorder transpose = new NhwcReorder(shape, type)) {
                        quantize.execute(src, nchw);
                        transpose.execute(nchw, nhwc);
                        byte[] q = new byte[elements];
                        nhwc.get(q);
                        for (int i = 0; i < elements; i++) {
                            int image = i / (channels * pixels);
                            int c = (i / pixels) % channels;
                            int p = i % pixels;
                            float s = scales[perChannel ? c : 0];
                            int expected = (int) Math.max(grid.qmin(), Math.min(grid.qmax(), Math.rint(x[i] / s)));
                            byte level = q[(image * pixels + p) * channels + c];
                            int actual = grid.signed() ? level : Byte.toUnsignedInt(level);
                            assertEquals(expected, actual, java.util.Arrays.toString(shape) + " " + grid
                                    + (perChannel ? " per channel" : " per tensor") + ", NCHW element " + i);
                        }
                    }
                }
            }
        }
    }
}
