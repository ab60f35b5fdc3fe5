package org.quant4j.runtime;

import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.Loader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process-wide oneDNN CPU engine (through the JavaCPP preset, the same JavaCPP as ND4J), one stream per thread,
 * and what the CPU can do. oneDNN primitives may run concurrently; streams may not, hence one per thread.
 */
public final class Dnnl {

    private static final Logger LOG = LoggerFactory.getLogger(Dnnl.class);
    private static final Holder HOLDER = Holder.create();
    private static final ThreadLocal<stream> STREAMS = ThreadLocal.withInitial(() -> new stream(engine()));

    private Dnnl() {
    }

    private record Holder(engine engine, Throwable failure) {
        static Holder create() {
            try {
                Loader.load(dnnl.class);
                return new Holder(new org.bytedeco.dnnl.engine(org.bytedeco.dnnl.engine.kind.cpu, 0), null);
            } catch (Throwable t) {
                LOG.warn("oneDNN is not available ({}); quantized models run as fake-quant graphs", t.toString());
                return new Holder(null, t);
            }
        }
    }

    /** Whether oneDNN loaded on this platform. */
    public static boolean available() {
        return HOLDER.engine() != null;
    }

    /** The CPU engine; fails with the load error when oneDNN is not available. */
    public static engine engine() {
        if (HOLDER.engine() == null) {
            throw new IllegalStateException("oneDNN is not available: " + HOLDER.failure(), HOLDER.failure());
        }
        return HOLDER.engine();
    }

    /** This thread's stream. */
    static stream stream() {
        return STREAMS.get();
    }

    /** The instruction set oneDNN uses on this CPU, e.g. {@code avx2} or {@code avx512_core_vnni}. */
    public static dnnl.cpu_isa isa() {
        engine();
        return dnnl.get_effective_cpu_isa();
    }

    /**
     * Whether this CPU's int8 kernels sum u8 x s8 products exactly in 32 bits (VNNI: {@code vpdpbusd}). Without
     * VNNI, oneDNN's AVX2 and AVX-512 int8 kernels add pairs of products in 16 bits with saturation
     * ({@code vpmaddubsw}), which is exact only when |w| <= 64 or x <= 127 (255 * 127 * 2 overflows 32,767).
     * Found out once by running the worst case through the kernel itself: 64 inputs of 255 times weights of 127.
     */
    public static boolean exactInt8Products() {
        return ExactProducts.VALUE;
    }

    /**
     * The weight bits that integer execution can use without saturation here: 8 with exact products (VNNI), 7
     * without (the reduced range ONNX Runtime and PyTorch's fbgemm also use), 8 when oneDNN is unavailable.
     */
    public static int safeWeightBits() {
        return available() && !exactInt8Products() ? 7 : 8;
    }

    /**
     * Whether int8 kernels reading signed (s8) levels compute exact sums here. Without VNNI, oneDNN's kernels for s8
     * sources halve the weights (a weight scale adjustment of 0.5, so that shifted sources cannot saturate): odd
     * weights lose their last bit, silently (seen here with oneDNN limited to AVX2: levels off by up to 29). Probed
     * once with odd weights; without exact sums, ops reading signed levels run as fp32 islands.
     */
    public static boolean exactSignedSources() {
        return SignedSources.VALUE;
    }

    private static final class SignedSources {
        static final boolean VALUE = available() && probe();

        private static boolean probe() {
            Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(1, 16, 4, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
            byte[] weights = new byte[4 * 16 * 9];
            java.util.Arrays.fill(weights, (byte) 63);
            boolean exact;
            try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.S8, ElementType.F32, weights, null, new float[] {1f},
                    false);
                    org.bytedeco.javacpp.BytePointer src = new org.bytedeco.javacpp.BytePointer(conv.srcBytes());
                    org.bytedeco.javacpp.FloatPointer dst = new org.bytedeco.javacpp.FloatPointer(conv.dstBytes() / 4)) {
                byte[] values = new byte[(int) conv.srcBytes()];
                java.util.Arrays.fill(values, (byte) -127);
                src.put(values);
                conv.execute(src, dst);
                // the centre pixel sees the whole kernel: 16 x 9 products of -127 x 63
                exact = dst.get((1 * 4 + 1) * 4) == -16f * 9 * 127 * 63;
            }
            byte[] dense = new byte[4 * 64];
            java.util.Arrays.fill(dense, (byte) 63);
            try (Int8Dense fc = new Int8Dense(1, 64, 4, ElementType.S8, ElementType.F32, dense, null, new float[] {1f},
                    false);
                    org.bytedeco.javacpp.BytePointer src = new org.bytedeco.javacpp.BytePointer(64L);
                    org.bytedeco.javacpp.FloatPointer dst = new org.bytedeco.javacpp.FloatPointer(4L)) {
                byte[] values = new byte[64];
                java.util.Arrays.fill(values, (byte) -127);
                src.put(values);
                fc.execute(src, dst);
                exact &= dst.get(0) == -64f * 127 * 63;
            }
            LOG.info("int8 kernels on {}: signed sources summed {}", dnnl.get_effective_cpu_isa(),
                    exact ? "exactly" : "inexactly (weights adjusted): ops reading signed levels run in fp32");
            return exact;
        }
    }

    private static final class ExactProducts {
        static final boolean VALUE = probe();

        /**
         * The worst case through a 3x3 and a 1x1 convolution, a 3x3 depthwise convolution and an inner product:
         * every kernel family used.
         */
        private static boolean probe() {
            boolean exact = probeConvolution(3) && probeConvolution(1) && probeDepthwise() && probeDense();
            LOG.info("int8 kernels on {}: products summed {}", dnnl.get_effective_cpu_isa(),
                    exact ? "exactly (full 8-bit weights)" : "with 16-bit saturation (7-bit weights needed)");
            return exact;
        }

        private static boolean probeConvolution(int k) {
            Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(1, 64, 8, 8, 16, k, k, 1, 1, k / 2, k / 2, k / 2, k / 2, 1,
                    1);
            byte[] weights = new byte[16 * 64 * k * k];
            java.util.Arrays.fill(weights, (byte) 127);
            float[] ones = new float[16];
            java.util.Arrays.fill(ones, 1f);
            try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.F32, weights, null, ones, false);
                    org.bytedeco.javacpp.BytePointer src = new org.bytedeco.javacpp.BytePointer(conv.srcBytes());
                    org.bytedeco.javacpp.FloatPointer dst = new org.bytedeco.javacpp.FloatPointer(conv.dstBytes() / 4)) {
                byte[] full = new byte[(int) conv.srcBytes()];
                java.util.Arrays.fill(full, (byte) 255);
                src.put(full);
                conv.execute(src, dst);
                // the centre pixel sees the whole kernel: 64 k^2 products of 255 x 127
                return dst.get((4 * 8 + 4) * 16) == 64f * k * k * 255 * 127;
            }
        }

        /** 64 channels, one 3x3 filter each (groups = channels): the centre sums 9 products of 255 x 127. */
        private static boolean probeDepthwise() {
            Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 64);
            byte[] weights = new byte[64 * 9];
            java.util.Arrays.fill(weights, (byte) 127);
            try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.F32, weights, null, new float[] {1f},
                    false);
                    org.bytedeco.javacpp.BytePointer src = new org.bytedeco.javacpp.BytePointer(conv.srcBytes());
                    org.bytedeco.javacpp.FloatPointer dst = new org.bytedeco.javacpp.FloatPointer(conv.dstBytes() / 4)) {
                byte[] full = new byte[(int) conv.srcBytes()];
                java.util.Arrays.fill(full, (byte) 255);
                src.put(full);
                conv.execute(src, dst);
                return dst.get((4 * 8 + 4) * 64) == 9f * 255 * 127;
            }
        }

        private static boolean probeDense() {
            byte[] weights = new byte[4 * 256];
            java.util.Arrays.fill(weights, (byte) 127);
            try (Int8Dense dense = new Int8Dense(1, 256, 4, ElementType.U8, ElementType.F32, weights, null,
                    new float[] {1f}, false);
                    org.bytedeco.javacpp.BytePointer src = new org.bytedeco.javacpp.BytePointer(256L);
                    org.bytedeco.javacpp.FloatPointer dst = new org.bytedeco.javacpp.FloatPointer(4L)) {
                byte[] full = new byte[256];
                java.util.Arrays.fill(full, (byte) 255);
                src.put(full);
                dense.execute(src, dst);
                return dst.get(0) == 256f * 255 * 127;
            }
        }
    }
}
