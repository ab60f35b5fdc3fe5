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

    private static final class ExactProducts {
        static final boolean VALUE = probe();

        private static boolean probe() {
            Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(1, 64, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1);
            byte[] weights = new byte[64];
            java.util.Arrays.fill(weights, (byte) 127);
            try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.F32, weights, null, new float[] {1f},
                    false);
                    org.bytedeco.javacpp.BytePointer src = new org.bytedeco.javacpp.BytePointer(64L);
                    org.bytedeco.javacpp.FloatPointer dst = new org.bytedeco.javacpp.FloatPointer(1L)) {
                byte[] full = new byte[64];
                java.util.Arrays.fill(full, (byte) 255);
                src.put(full);
                conv.execute(src, dst);
                boolean exact = dst.get(0) == 64f * 255 * 127;
                LOG.info("int8 kernels ({}): products summed {}", conv.implementation(),
                        exact ? "exactly (full 8-bit weights)" : "with 16-bit saturation (7-bit weights needed)");
                return exact;
            }
        }
    }
}
