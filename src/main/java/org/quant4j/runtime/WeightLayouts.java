package org.quant4j.runtime;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A quantized op's integer weights, as the graph holds them, relaid out once into the layout its kernel takes. */
final class WeightLayouts {

    private WeightLayouts() {
    }

    /**
     * Convolution weights as OIHW. The layout from the shapes: a SameDiff copy or reload of the graph does not keep
     * the config's weights format (an OIYX convolution reported YXIO after dup()). Null for another layout.
     */
    static byte[] convolution(INDArray q, Int8Conv2d.Geometry g) {
        long[] ws = q.shape();
        long in = g.in();
        long k0 = g.kernelH();
        long k1 = g.kernelW();
        INDArray layout;
        if (ws[0] == g.out() && ws[1] == in && ws[2] == k0 && ws[3] == k1) {
            layout = q; // OIYX
        } else if (ws[0] == k0 && ws[1] == k1 && ws[2] == in && ws[3] == g.out()) {
            layout = q.permute(3, 2, 0, 1); // YXIO
        } else if (ws[0] == g.out() && ws[1] == k0 && ws[2] == k1 && ws[3] == in) {
            layout = q.permute(0, 3, 1, 2); // OYXI
        } else {
            return null;
        }
        return bytes(layout);
    }

    /** Depthwise weights [kH, kW, C, M] as oneDNN's goihw [C, M, 1, kH, kW]: output channel c M + m reads input c. */
    static byte[] depthwise(INDArray q, Int8Conv2d.Geometry g) {
        long[] ws = q.shape();
        if (ws.length != 4 || ws[0] != g.kernelH() || ws[1] != g.kernelW() || ws[2] != g.in()
                || ws[2] * ws[3] != g.out()) {
            return null;
        }
        return bytes(q.permute(2, 3, 0, 1));
    }

    /** Dense weights [nIn, nOut] as [O, F], F in NHWC order (h, w, c) when the input is a flatten of NHWC levels. */
    static byte[] dense(INDArray q, Value x, long features, long outChannels) {
        INDArray oi = q.transpose().dup('c');
        if (oi.size(0) != outChannels || oi.size(1) != features) {
            throw new IllegalStateException("dense weights " + Arrays.toString(q.shape()) + " for " + features
                    + " inputs and " + outChannels + " outputs");
        }
        if (x.flattenedFrom() != null) {
            long[] f = x.flattenedFrom();
            oi = oi.reshape('c', outChannels, f[1], f[2], f[3]).permute(0, 2, 3, 1).reshape('c', outChannels, features);
        }
        return bytes(oi);
    }

    /** Through FLOAT: ND4J M2.1 casts INT8 to INT32 wrongly (seen here: [-52, -56, -40] became [-52, -8, -86]). */
    private static byte[] bytes(INDArray levels) {
        float[] v = levels.castTo(DataType.FLOAT).dup('c').data().asFloat();
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    /** An array's values as floats in C order (a bias). */
    static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }
}
