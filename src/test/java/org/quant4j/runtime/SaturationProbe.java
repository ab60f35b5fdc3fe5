package org.quant4j.runtime;

import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Runs the worst-case convolution (all inputs 255, all weights +-limit; a depthwise one with a third argument
 * {@code depthwise}) with oneDNN limited to an instruction set, in a JVM of its own (the limit is process-wide and must precede the first primitive). Prints
 * {@code <implementation> exact} or {@code <implementation> wrong}.
 */
public final class SaturationProbe {

    private SaturationProbe() {
    }

    public static void main(String[] args) {
        dnnl.set_max_cpu_isa(dnnl.cpu_isa.valueOf(args[0]));
        int limit = Integer.parseInt(args[1]);
        boolean depthwise = args.length > 2 && args[2].equals("depthwise");
        Int8Conv2d.Geometry g = depthwise ? new Int8Conv2d.Geometry(1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 64)
                : new Int8Conv2d.Geometry(1, 64, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        int[] src = new int[64 * 64];
        java.util.Arrays.fill(src, 255);
        int perFilter = (int) (g.in() / g.groups() * 9);
        int[] w = new int[(int) g.out() * perFilter];
        byte[] wb = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i / perFilter) % 2 == 0 ? limit : -limit;
            wb[i] = (byte) w[i];
        }
        float[] ones = new float[(int) g.out()];
        java.util.Arrays.fill(ones, 1f);
        try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.F32, wb, null, ones, false);
                BytePointer in = new BytePointer(conv.srcBytes()); FloatPointer out = new FloatPointer(conv.dstBytes() / 4)) {
            in.put(new byte[src.length]);
            byte[] s = new byte[src.length];
            java.util.Arrays.fill(s, (byte) 255);
            in.put(s);
            conv.execute(in, out);
            float[] actual = new float[(int) (conv.dstBytes() / 4)];
            out.get(actual);
            long[] expected = Int8Conv2dTest.reference(g, src, w, null);
            boolean exact = true;
            for (int i = 0; i < expected.length; i++) {
                exact &= expected[i] == (long) actual[i];
            }
            System.out.println(conv.implementation() + " " + (exact ? "exact" : "wrong"));
        }
    }
}
