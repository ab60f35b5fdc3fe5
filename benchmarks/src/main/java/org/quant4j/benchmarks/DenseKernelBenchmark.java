package org.quant4j.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
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
import org.quant4j.runtime.ElementType;
import org.quant4j.runtime.Int8Dense;

/**
 * The int8 dense kernel (ResNet-50's last layer, 2048 -&gt; 1000, u8 in, f32 out) built afresh before every
 * measurement iteration, after a native allocation of random size, so that each iteration's kernel has its weights
 * wherever the allocator puts them: the spread of the iteration scores is the spread over freshly built plans.
 * With JavaCPP's plain allocation the reordered weights landed at 16 mod 64 bytes by chance and the same call took
 * 52-58 us instead of 14-18 (issue 21); with the runtime's aligned memory the scores should form one cluster.
 * Read the distribution from the JSON's {@code rawData} (one score per iteration); many short iterations.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 200, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 40, time = 200, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class DenseKernelBenchmark {

    @Param({"8"})
    int batch;

    private static final int IN = 2048;
    private static final int OUT = 1000;

    private final Random random = new Random(21);
    private final List<Pointer> spacers = new ArrayList<>();
    private byte[] weights;
    private float[] bias;
    private float[] scales;
    private Int8Dense dense;
    private BytePointer srcBlock;
    private BytePointer dstBlock;
    private BytePointer src;
    private BytePointer dst;

    @Setup(Level.Trial)
    public void data() {
        weights = new byte[OUT * IN];
        random.nextBytes(weights);
        bias = new float[OUT];
        scales = new float[OUT];
        for (int o = 0; o < OUT; o++) {
            bias[o] = random.nextInt(2000) - 1000;
            scales[o] = 1e-4f * (1 + random.nextFloat());
        }
    }

    /** A fresh kernel, after a spacer allocation of 1 to 4,096 bytes; source and destination 64-byte aligned. */
    @Setup(Level.Iteration)
    public void freshKernel() {
        spacers.add(new BytePointer(1 + random.nextInt(4096)));
        dense = new Int8Dense(batch, IN, OUT, ElementType.U8, ElementType.F32, weights, bias, scales, false);
        srcBlock = new BytePointer(dense.srcBytes() + 64);
        dstBlock = new BytePointer(dense.dstBytes() + 64);
        src = aligned(srcBlock);
        dst = aligned(dstBlock);
        byte[] x = new byte[(int) dense.srcBytes()];
        random.nextBytes(x);
        src.put(x);
    }

    /** A view of {@code block} starting at its first 64-byte-aligned address (as the plan's buffers are). */
    private static BytePointer aligned(BytePointer block) {
        long offset = (64 - block.address() % 64) % 64;
        return new BytePointer(block).position(offset);
    }

    @TearDown(Level.Iteration)
    public void closeKernel() {
        dense.close();
        srcBlock.close();
        dstBlock.close();
    }

    @TearDown(Level.Trial)
    public void closeSpacers() {
        spacers.forEach(Pointer::close);
        spacers.clear();
    }

    @Benchmark
    public void int8Dense() {
        dense.execute(src, dst);
    }
}
