package org.quant4j.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.quant4j.runtime.Dnnl;
import org.quant4j.runtime.ElementType;
import org.quant4j.runtime.Int8Conv2d;

/**
 * One 3x3 convolution, 64 -> 64 channels, 56x56, stride 1, padding 1, ReLU (ResNet-50's conv2_x shape):
 * quant4j's int8 kernel (u8 NHWC in and out, s8 weights, per-channel requantization) against oneDNN fp32 in its
 * best layout (source, weights and destination all {@code format_tag::any}, so the blocked layout oneDNN prefers;
 * no reorders inside the timed call). Compare the two scores as a ratio from one run.
 *
 * <p>{@link #pairedBlocks} times the two side by side: blocks of {@value #BLOCK} int8 calls and {@value #BLOCK}
 * fp32 calls alternate, each block timed on its own, so that both kernels see the same state of the machine (on a
 * shared VM the fp32 kernel's speed drifts between measurements minutes apart). Its secondary results, per
 * iteration, are the nanoseconds the int8 and the fp32 blocks took and the calls of each; their ratio is the
 * speed-up ({@code benchmarks/conv-layer-paired.sh} prints it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class ConvLayerBenchmark {

    /** Calls of each kernel per timed block of {@link #pairedBlocks}. */
    static final int BLOCK = 8;

    @Param({"1", "8"})
    long batch;

    private Int8Conv2d int8;
    private BytePointer int8Src;
    private BytePointer int8Dst;

    private convolution_forward fp32;
    private memory fp32Src;
    private memory fp32Weights;
    private memory fp32Bias;
    private memory fp32Dst;
    private stream stream;
    /** The buffers behind the fp32 memories: kept reachable, or the GC frees them under oneDNN's feet. */
    private final java.util.List<FloatPointer> buffers = new java.util.ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() {
        Random random = new Random(1);
        Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(batch, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        byte[] w = new byte[64 * 64 * 9];
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) (random.nextInt(127) - 63);
        }
        float[] bias = new float[64];
        float[] scales = new float[64];
        for (int o = 0; o < 64; o++) {
            bias[o] = random.nextInt(2000) - 1000;
            scales[o] = 0.001f;
        }
        int8 = new Int8Conv2d(g, ElementType.U8, ElementType.U8, w, bias, scales, true);
        int8Src = new BytePointer(int8.srcBytes());
        byte[] src = new byte[(int) int8.srcBytes()];
        random.nextBytes(src);
        int8Src.put(src);
        int8Dst = new BytePointer(int8.dstBytes());

        var engine = Dnnl.engine();
        stream = new stream(engine);
        long[] srcDims = {batch, 64, 56, 56};
        long[] wDims = {64, 64, 3, 3};
        var any = memory.format_tag.any;
        var f32 = memory.data_type.f32;
        convolution_forward.desc desc = new convolution_forward.desc(dnnl.prop_kind.forward_inference,
                dnnl.algorithm.convolution_direct, new memory.desc(srcDims, f32, any), new memory.desc(wDims, f32, any),
                new memory.desc(new long[] {64}, f32, memory.format_tag.x), new memory.desc(srcDims, f32, any),
                new long[] {1, 1}, new long[] {0, 0}, new long[] {1, 1}, new long[] {1, 1});
        primitive_attr attr = new primitive_attr();
        post_ops ops = new post_ops();
        ops.append_eltwise(1.0f, dnnl.algorithm.eltwise_relu, 0f, 0f);
        attr.set_post_ops(ops);
        convolution_forward.primitive_desc pd = new convolution_forward.primitive_desc(desc, attr, engine);
        fp32 = new convolution_forward(pd);
        fp32Src = filled(pd.src_desc(), engine, random);
        fp32Weights = filled(pd.weights_desc(), engine, random);
        fp32Bias = filled(pd.bias_desc(), engine, random);
        fp32Dst = new memory(pd.dst_desc(), engine);
        System.out.println("int8: " + int8.implementation() + ", fp32: " + pd.impl_info_str().getString());
    }

    private memory filled(memory.desc desc, org.bytedeco.dnnl.engine engine, Random random) {
        long n = desc.get_size() / 4;
        FloatPointer data = new FloatPointer(n);
        buffers.add(data);
        for (long i = 0; i < n; i++) {
            data.put(i, random.nextFloat() - 0.5f);
        }
        return new memory(desc, engine, data);
    }

    @Benchmark
    public void int8Conv() {
        int8.execute(int8Src, int8Dst);
    }

    @Benchmark
    public void fp32ConvBestLayout() {
        fp32.execute(stream, new IntMemoryMap().put(dnnl.DNNL_ARG_SRC, fp32Src).put(dnnl.DNNL_ARG_WEIGHTS, fp32Weights)
                .put(dnnl.DNNL_ARG_BIAS, fp32Bias).put(dnnl.DNNL_ARG_DST, fp32Dst));
        stream._wait();
    }

    /** Per iteration: the time the int8 and the fp32 blocks of {@link #pairedBlocks} took, and their calls. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class PairedTimes {
        /** Nanoseconds of the int8 blocks, summed over the iteration. */
        public long int8Nanos;
        /** Nanoseconds of the fp32 blocks, summed over the iteration. */
        public long fp32Nanos;
        /** Calls of each kernel in the iteration. */
        public long callsEach;

        @Setup(Level.Iteration)
        public void reset() {
            int8Nanos = 0;
            fp32Nanos = 0;
            callsEach = 0;
        }
    }

    @Benchmark
    public void pairedBlocks(PairedTimes times) {
        long start = System.nanoTime();
        for (int i = 0; i < BLOCK; i++) {
            int8Conv();
        }
        long middle = System.nanoTime();
        for (int i = 0; i < BLOCK; i++) {
            fp32ConvBestLayout();
        }
        long end = System.nanoTime();
        times.int8Nanos += middle - start;
        times.fp32Nanos += end - middle;
        times.callsEach += BLOCK;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        int8.close();
        int8Src.close();
        int8Dst.close();
    }
}
