package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a quantized network with oneDNN's int8 kernels where it can and in fp32 elsewhere, computing what its
 * fake-quant graph computes: "int8 where possible, fp32 islands elsewhere".
 *
 * <p>The fake-quant graph fixes the semantics. Every op becomes one step of a plan ({@link Int8Plan}), over values
 * held as integer levels of a quantization point (u8/s8, NHWC), as f32 NHWC buffers, or as ND4J arrays:
 * <ul>
 * <li>a quantized convolution (also grouped: depthwise) or dense layer reads the levels of its quantization point
 * and runs as an int8 oneDNN kernel, with bias (in accumulator units, {@code b / s_w[o]}) and ReLU fused, writing
 * the levels of the next point directly (output scale {@code s_w[o] / s_y[o]}, rounding half to even, saturating)
 * when its result flows only through identity and ReLU into that point, else f32 ({@code s_w[o] * acc + b});</li>
 * <li>max pooling, identity and a flatten run on levels (max pooling commutes with a monotonic quantizer; a flatten
 * of NHWC levels is free, the dense weights after it are permuted once);</li>
 * <li>ReLU / leaky ReLU, sigmoid, the sum of two tensors, a concatenation, max and global average/max pooling and
 * the softmax of a rank-2 value run as f32 oneDNN primitives, a constant padding as row copies;</li>
 * <li>a quantization point's {@code :scaled/:q/:fq} ops become one quantize step
 * ({@code clamp(rint(x / s_c), qmin, qmax)} in float, exactly as the graph) unless a kernel already wrote its levels;
 * readers of {@code <t>:fq} that are not integer kernels get {@code q * s_c}, exactly as the graph computes it;</li>
 * <li>any other op (un-folded BatchNorm, LRN, tanh, upsampling, ...) is an fp32 island: that one op
 * runs through SameDiff on ND4J arrays (NCHW), converted at its edges.</li>
 * </ul>
 * So the plan differs from the fake-quant graph only by float rounding inside kernels and f32 primitives (sums in
 * another order, {@code s_w (acc + b / s_w)} for {@code conv(q_x s_x, q_w s_w / s_x) + b}): levels may differ by one
 * step where a value falls within rounding of a level's edge.
 *
 * <p>Plans (kernels with weights reordered once) are built once per input shape and shared by all threads, at most
 * {@link #maxPlans()} of them (least recently used evicted, see {@link PlanCache}); each call allocates its own
 * buffers and oneDNN scratchpads, so {@link #outputs} is thread-safe. A shape whose plan cannot be built throws
 * {@link PlanFailedException} (its caller runs the fake-quant graph) and leaves other shapes' plans alone.
 */
public final class Int8Network implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Int8Network.class);

    /** The plans kept per network unless set otherwise ({@link #maxPlans(int)}). */
    public static final int DEFAULT_MAX_PLANS = PlanCache.DEFAULT_CAPACITY;

    private final ModelGraph graph;
    private final Map<String, TensorQuantization> activations = new HashMap<>();
    private final Map<String, TensorQuantization> weights = new HashMap<>();
    private final PlanCache<Int8Plan> plans = new PlanCache<>();
    private SameDiff islands;

    private Int8Network(ModelGraph graph, List<TensorQuantization> quantizations) {
        this.graph = graph;
        for (TensorQuantization t : quantizations) {
            (t.kind() == TensorQuantization.Kind.ACTIVATION ? activations : weights).put(t.tensor(), t);
        }
    }

    /** What the integer runtime cannot run, and why: the network as a whole (for every input shape). */
    public static class UnsupportedInt8Exception extends RuntimeException {
        public UnsupportedInt8Exception(String message) {
            super(message);
        }
    }

    /**
     * The plan for one set of input shapes could not be built (a kernel oneDNN cannot make for these sizes, a layout
     * not foreseen): calls with these shapes run the fake-quant graph; other shapes keep their int8 plans.
     */
    public static final class PlanFailedException extends UnsupportedInt8Exception {
        private final boolean firstTime;

        PlanFailedException(String message, boolean firstTime) {
            super(message);
            this.firstTime = firstTime;
        }

        /** Whether this call tried to build the plan (false: the failure was remembered from an earlier call). */
        public boolean firstTime() {
            return firstTime;
        }
    }

    /** An input shape whose plan could not be built, and why. */
    public record Fallback(List<long[]> shapes, String reason) {
        @Override
        public String toString() {
            return shapes.stream().map(Arrays::toString).toList() + ": " + reason;
        }
    }

    /**
     * Checks that the network can run in integer arithmetic here and prepares it. Refused (with the reason) when ND4J's
     * backend is not the CPU's, oneDNN is unavailable, a quantized tensor has more than 8 bits, weights use 8-bit
     * levels on a CPU whose int8 kernels would saturate (no VNNI), or no quantized op could run as an integer kernel.
     *
     * @param sampleShapes the shapes of the network's inputs, in order, to build the first plan for
     */
    public static Int8Network compile(ModelGraph graph, List<TensorQuantization> quantizations,
            long[]... sampleShapes) {
        if (!Nd4j.getEnvironment().isCPU()) {
            // oneDNN's int8 kernels run on the CPU: on a device every call would copy its arrays to the host and back.
            throw new UnsupportedInt8Exception("the ND4J backend (" + Nd4j.getBackend()
                    .getClass().getSimpleName() + ") is not the CPU backend, and the int8 plan runs on the CPU through"
                    + " oneDNN");
        }
        if (!Dnnl.available()) {
            throw new UnsupportedInt8Exception("oneDNN is not available on this platform");
        }
        if (sampleShapes.length != graph.inputs().size()) {
            throw new IllegalArgumentException("the network has " + graph.inputs().size() + " inputs, "
                    + sampleShapes.length + " shapes given");
        }
        Int8Network network = new Int8Network(graph, quantizations);
        try (PlanCache<Int8Plan>.Lease lease = network.plan(sampleShapes)) {
            LOG.info("int8 plan for {}: {}", Arrays.deepToString(sampleShapes), lease.plan().summary());
        } catch (PlanFailedException e) {
            // this shape runs the fake-quant graph; the network is still compiled for others
        }
        return network;
    }

    /** The first output for a network of one input. */
    public INDArray output(INDArray input) {
        return outputs(input)[0];
    }

    /** The network's outputs (in the graph's output order) for its inputs (in the graph's input order). */
    public INDArray[] outputs(INDArray... inputs) {
        INDArray[] floats = floats(inputs);
        try (PlanCache<Int8Plan>.Lease lease = plan(shapes(floats))) {
            return lease.plan().run(floats);
        }
    }

    /**
     * Every value of the plan for the inputs, by graph variable name, in the graph's layout (NCHW), as floats:
     * levels dequantized ({@code q * s}, comparable with the fake-quant graph's variable of the same name), and for
     * each quantization point {@code t} also {@code <t>:q}, its integer levels. For diagnosis and tests.
     */
    public Map<String, INDArray> trace(INDArray... inputs) {
        INDArray[] floats = floats(inputs);
        try (PlanCache<Int8Plan>.Lease lease = plan(shapes(floats))) {
            return lease.plan().trace(floats);
        }
    }

    /**
     * Where the time goes: each step of the plan for these inputs, in execution order, with its mean wall-clock
     * time over {@code runs} calls (after one untimed call). A plain-timer profile for diagnosis, not a benchmark.
     */
    public List<StepTime> profile(int runs, INDArray... inputs) {
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be at least 1, got " + runs);
        }
        INDArray[] floats = floats(inputs);
        try (PlanCache<Int8Plan>.Lease lease = plan(shapes(floats))) {
            return lease.plan().profile(floats, runs);
        }
    }

    /**
     * One step of a plan and its mean time.
     *
     * @param label  what it runs, e.g. {@code conv2d res2a_branch2c + res2a_branch1 -> ...}, {@code quantize x},
     *               {@code island softmax out}
     * @param kind   its first word: the op ({@code conv2d}, {@code maxpool2d}, {@code add}, ...), {@code quantize},
     *               {@code convert} or {@code island}
     * @param millis mean milliseconds per call
     */
    public record StepTime(String label, String kind, double millis) {
    }

    /** The multiply-accumulates the int8 kernels of the plan for these input shapes do per call. */
    public long int8Macs(long[]... shapes) {
        try (PlanCache<Int8Plan>.Lease lease = plan(shapes)) {
            return lease.plan().int8Macs();
        }
    }

    /**
     * The native bytes and the number of buffer sets the plan for these input shapes holds for its calls (see
     * {@link Int8Plan}): for tests of the buffer pool.
     */
    long[] planBuffers(long[]... shapes) {
        try (PlanCache<Int8Plan>.Lease lease = plan(shapes)) {
            return new long[] {lease.plan().bufferBytes(), lease.plan().bufferSets()};
        }
    }

    /** What the plan for these input shapes runs: counts of int8 kernels, f32 primitives and fp32 islands. */
    public String summary(long[]... shapes) {
        try (PlanCache<Int8Plan>.Lease lease = plan(shapes)) {
            return lease.plan().summary();
        }
    }

    private static INDArray[] floats(INDArray[] inputs) {
        INDArray[] floats = new INDArray[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            floats[i] = inputs[i].dataType() == DataType.FLOAT ? inputs[i] : inputs[i].castTo(DataType.FLOAT);
        }
        return floats;
    }

    private static long[][] shapes(INDArray[] inputs) {
        long[][] shapes = new long[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            shapes[i] = inputs[i].shape();
        }
        return shapes;
    }

    /**
     * How many plans (one per set of input shapes) are kept at most; the least recently used is evicted, and its
     * native memory released, when a call needs one more. Default {@value PlanCache#DEFAULT_CAPACITY}.
     */
    public void maxPlans(int plans) {
        this.plans.capacity(plans);
    }

    /** The most plans kept (see {@link #maxPlans(int)}). */
    public int maxPlans() {
        return plans.capacity();
    }

    /** The plans held now. */
    public int cachedPlans() {
        return plans.size();
    }

    /** How many plans were built in all, evicted ones included. */
    public long plansBuilt() {
        return plans.built();
    }

    /** The input shapes (among those the cache remembers) whose plan could not be built, with the reason. */
    public List<Fallback> fallbacks() {
        return plans.failures();
    }

    private PlanCache<Int8Plan>.Lease plan(long[]... shapes) {
        if (shapes.length != graph.inputs().size()) {
            throw new IllegalArgumentException("the network has " + graph.inputs().size() + " inputs, "
                    + shapes.length + " given");
        }
        return plans.acquire(shapes, s -> new Int8Plan(graph, activations, weights, this::islands, s));
    }

    /**
     * The graph fp32 islands run in: a copy of the fake-quant graph in which every op reads its non-constant inputs
     * from placeholders ({@code <variable>#in}), so that any single op runs on its own, fed with the plan's values.
     * Made once, on first need, and shared by all plans.
     */
    private synchronized SameDiff islands() {
        if (islands == null) {
            SameDiff sd = org.quant4j.graph.ArraysOnce.keep(graph.graph().dup());
            Map<String, SDVariable> placeholders = new LinkedHashMap<>();
            for (SameDiffOp op : new ArrayList<>(sd.getOps().values())) {
                List<String> in = op.getInputsToOp();
                if (in == null || PlanGraph.constantDerived(sd, op)) {
                    continue;
                }
                for (int i = 0; i < in.size(); i++) {
                    String v = in.get(i);
                    if (PlanGraph.isConstant(sd, v) || PlanGraph.constantDerivedVariable(sd, v)) {
                        continue;
                    }
                    SDVariable var = sd.getVariable(v);
                    SDVariable ph = placeholders.computeIfAbsent(v,
                            k -> sd.placeHolder(PointNames.islandInput(k), var.dataType(), (long[]) null));
                    sd.replaceArgFor(i, ph, op.getOp());
                }
            }
            islands = sd;
        }
        return islands;
    }

    @Override
    public void close() {
        plans.close();
    }
}
