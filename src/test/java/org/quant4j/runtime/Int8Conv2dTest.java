package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/** oneDNN's int8 convolution against an exact integer reference written here. */
class Int8Conv2dTest {

    /** The largest weight magnitude that cannot saturate on this CPU (see {@link Dnnl#exactInt8Products()}). */
    private static int weightLimit() {
        return Dnnl.exactInt8Products() ? 127 : 63;
    }

    /** acc[n][oy][ox][o] + bias, exact, in long: src NHWC unsigned bytes, weights OIHW signed bytes. */
    static long[] reference(Int8Conv2d.Geometry g, int[] src, int[] w, int[] bias) {
        long oh = g.outHeight();
        long ow = g.outWidth();
        long[] out = new long[(int) (g.batch() * oh * ow * g.out())];
        for (int n = 0; n < g.batch(); n++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    for (int o = 0; o < g.out(); o++) {
                        long acc = bias == null ? 0 : bias[o];
                        long perGroup = g.in() / g.groups();
                        long group = o / (g.out() / g.groups());
                        for (int c = 0; c < perGroup; c++) {
                            for (int ky = 0; ky < g.kernelH(); ky++) {
                                for (int kx = 0; kx < g.kernelW(); kx++) {
                                    long y = oy * g.strideH() - g.padTop() + ky * g.dilationH();
                                    long x = ox * g.strideW() - g.padLeft() + kx * g.dilationW();
                                    if (y < 0 || y >= g.height() || x < 0 || x >= g.width()) {
                                        continue;
                                    }
                                    int s = src[(int) (((n * g.height() + y) * g.width() + x) * g.in()
                                            + group * perGroup + c)];
                                    int wt = w[(int) (((o * perGroup + c) * g.kernelH() + ky) * g.kernelW() + kx)];
                                    acc += (long) s * wt;
                                }
                            }
                        }
                        out[(int) (((n * oh + oy) * ow + ox) * g.out() + o)] = acc;
                    }
                }
            }
        }
        return out;
    }

    private static byte[] bytes(int[] values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    private static float[] runToFloat(Int8Conv2d conv, int[] src) {
        try (BytePointer in = new BytePointer(conv.srcBytes()); FloatPointer out = new FloatPointer(conv.dstBytes() / 4)) {
            in.put(bytes(src));
            conv.execute(in, out);
            float[] result = new float[(int) (conv.dstBytes() / 4)];
            out.get(result);
            return result;
        }
    }

    @Test
    void randomConvolutionsEqualTheIntegerReference() {
        Random random = new Random(42);
        Int8Conv2d.Geometry[] geometries = {
            new Int8Conv2d.Geometry(2, 5, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new Int8Conv2d.Geometry(1, 16, 12, 12, 8, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1),
            new Int8Conv2d.Geometry(3, 3, 10, 10, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),
            new Int8Conv2d.Geometry(1, 8, 11, 11, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2),
            new Int8Conv2d.Geometry(2, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            // depthwise (one group per channel), with stride 2, and with two filters per channel; grouped
            new Int8Conv2d.Geometry(2, 16, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16),
            new Int8Conv2d.Geometry(1, 32, 12, 12, 32, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 32),
            new Int8Conv2d.Geometry(1, 8, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8),
            new Int8Conv2d.Geometry(1, 8, 7, 7, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),
        };
        int limit = weightLimit();
        for (Int8Conv2d.Geometry g : geometries) {
            int[] w = random.ints((int) (g.out() * g.in() / g.groups() * g.kernelH() * g.kernelW()), -limit,
                    limit + 1).toArray();
            int[] bias = random.ints((int) g.out(), -5000, 5000).toArray();
            float[] fbias = new float[bias.length];
            for (int i = 0; i < bias.length; i++) {
                fbias[i] = bias[i];
            }
            float[] ones = new float[(int) g.out()];
            java.util.Arrays.fill(ones, 1f);
            try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.F32, bytes(w), fbias, ones,
                    false)) {
                // two sources in buffers of their own: the kernel's reused execution context is re-pointed per call
                for (int round = 0; round < 2; round++) {
                    int[] src = random.ints((int) (g.batch() * g.in() * g.height() * g.width()), 0, 256).toArray();
                    float[] actual = runToFloat(conv, src);
                    long[] expected = reference(g, src, w, bias);
                    for (int i = 0; i < expected.length; i++) {
                        assertEquals(expected[i], (long) actual[i],
                                g + " call " + round + " element " + i + " (" + conv.implementation() + ")");
                    }
                }
            }
        }
    }

    /**
     * A residual add fused into the kernel (oneDNN's sum post-op), as the int8 plan runs a residual block's last
     * convolution: {@code relu(scale (acc + bias) + r)}, with the destination holding {@code r} before the call,
     * equals the same float arithmetic done here on the exact accumulator, element for element; also a plain
     * convolution and depthwise one, with and without the ReLU.
     */
    @Test
    void aResidualAddedToTheDestinationEqualsTheReference() {
        Random random = new Random(7);
        int limit = weightLimit();
        Int8Conv2d.Geometry[] geometries = {
            new Int8Conv2d.Geometry(2, 16, 9, 9, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new Int8Conv2d.Geometry(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16),
        };
        for (Int8Conv2d.Geometry g : geometries) {
            for (boolean relu : new boolean[] {false, true}) {
                int[] w = random.ints((int) (g.out() * g.in() / g.groups() * 9), -limit, limit + 1).toArray();
                int[] bias = random.ints((int) g.out(), -3000, 3000).toArray();
                float[] fbias = new float[bias.length];
                float[] scales = new float[(int) g.out()];
                for (int o = 0; o < g.out(); o++) {
                    fbias[o] = bias[o];
                    scales[o] = 1e-3f * (1 + random.nextInt(50));
                }
                int[] src = random.ints((int) (g.batch() * g.in() * g.height() * g.width()), 0, 256).toArray();
                long[] acc = reference(g, src, w, bias);
                float[] residual = new float[acc.length];
                for (int i = 0; i < residual.length; i++) {
                    residual[i] = (float) random.nextGaussian() * 20f;
                }
                try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.F32, bytes(w), fbias, scales,
                        true, relu);
                        BytePointer in = new BytePointer(conv.srcBytes());
                        FloatPointer out = new FloatPointer(residual)) {
                    assertTrue(conv.addsToDestination());
                    in.put(bytes(src));
                    conv.execute(in, out);
                    float[] actual = new float[residual.length];
                    out.get(actual);
                    long negative = 0;
                    for (int i = 0; i < acc.length; i++) {
                        float expected = scales[(int) (i % g.out())] * (float) acc[i] + residual[i];
                        negative += expected < 0 ? 1 : 0;
                        expected = relu ? Math.max(expected, 0f) : expected;
                        assertEquals(expected, actual[i], Math.ulp(expected) * 2,
                                g + " relu " + relu + " element " + i + " (" + conv.implementation() + ")");
                    }
                    assertTrue(negative > acc.length / 10, "too few negative sums to tell the ReLU: " + negative);
                }
            }
        }
    }

    @Test
    void worstCaseFullRangeInputsAndWeightsDoNotSaturate() {
        // Every input at 255 and every weight at the largest magnitude the runtime uses on this CPU: the sums are
        // as large as they can be; two adjacent products of 255 x 127 would overflow a 16-bit pair sum.
        Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(1, 64, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        int limit = weightLimit();
        int[] src = new int[(int) (g.in() * g.height() * g.width())];
        java.util.Arrays.fill(src, 255);
        int[] w = new int[(int) (g.out() * g.in() * 9)];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i / (g.in() * 9)) % 2 == 0 ? limit : -limit; // positive and negative output channels
        }
        float[] ones = new float[(int) g.out()];
        java.util.Arrays.fill(ones, 1f);
        try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.F32, bytes(w), null, ones,
                false)) {
            float[] actual = runToFloat(conv, src);
            long[] expected = reference(g, src, w, null);
            long[] got = new long[actual.length];
            for (int i = 0; i < got.length; i++) {
                got[i] = (long) actual[i];
            }
            assertArrayEquals(expected, got, "saturation with " + conv.implementation());
            assertEquals(64L * 9 * 255 * limit, expected[(int) ((g.outHeight() / 2 * g.outWidth() + 1) * g.out())]);
        }
    }

    @Test
    void requantizesWithPerChannelScalesAndReluIntoUnsignedBytes() {
        Random random = new Random(7);
        Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(2, 6, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        int[] src = random.ints((int) (g.batch() * g.in() * 64), 0, 256).toArray();
        int[] w = random.ints((int) (g.out() * g.in() * 9), -60, 61).toArray();
        int[] bias = random.ints((int) g.out(), -3000, 3000).toArray();
        float[] fbias = new float[bias.length];
        float[] scales = new float[(int) g.out()];
        for (int o = 0; o < g.out(); o++) {
            fbias[o] = bias[o];
            scales[o] = 0.0007f * (o + 1);
        }
        try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.U8, bytes(w), fbias, scales,
                true);
                BytePointer in = new BytePointer(conv.srcBytes()); BytePointer out = new BytePointer(conv.dstBytes())) {
            in.put(bytes(src));
            conv.execute(in, out);
            byte[] actual = new byte[(int) conv.dstBytes()];
            out.get(actual);
            long[] acc = reference(g, src, w, bias);
            int differences = 0;
            for (int i = 0; i < acc.length; i++) {
                int o = (int) (i % g.out());
                float real = Math.max(0f, scales[o] * (float) acc[i]);
                int expected = (int) Math.min(255, Math.rint(real));
                int got = Byte.toUnsignedInt(actual[i]);
                assertTrue(Math.abs(expected - got) <= 1, "element " + i + ": " + got + " vs " + expected);
                differences += expected != got ? 1 : 0;
            }
            assertTrue(differences <= acc.length / 1000, differences + " of " + acc.length + " off by one");
        }
    }

    @Test
    void badShapesAreRejected() {
        Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(1, 2, 4, 4, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Int8Conv2d(g, ElementType.U8, ElementType.F32, new byte[5], null, new float[] {1},
                        false));
        assertTrue(e.getMessage().contains("expected 54 weights"), e.getMessage());
    }
}
