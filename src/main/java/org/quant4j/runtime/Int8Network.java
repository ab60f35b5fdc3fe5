package org.quant4j.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.QuantGrid;

/**
 * Runs a quantized network in integer arithmetic with oneDNN, from its fake-quant graph and quantization
 * parameters: the first quantization point is quantized once (per channel, into NHWC integer levels), then each
 * convolution or dense layer reads integer levels and writes the next point's integer levels directly
 * (requantization, bias and ReLU fused into the kernel), max pooling runs on integer levels, and the last layer
 * writes fp32, to which the graph's final softmax (if any) is applied. Integer activations never leave NHWC.
 *
 * <p>Supported today: a chain from one input to one output of convolutions (NCHW graph, OIYX weights) and dense
 * layers, with identity, ReLU, max pooling, flattening (dense weights are permuted from NCHW to NHWC order at
 * compile time) and BatchNorm already folded. {@link #compile} says what it cannot run
 * ({@link UnsupportedInt8Exception}), and the model then runs its fake-quant graph.
 *
 * <p>A plan (kernels with reordered weights) is built once per input shape and shared by all threads.
 */
public final class Int8Network implements AutoCloseable {

    private final ModelGraph graph;
    private final Map<String, TensorQuantization> activations = new HashMap<>();
    private final Map<String, TensorQuantization> weights = new HashMap<>();
    private final Map<List<Long>, Plan> plans = new ConcurrentHashMap<>();

    private Int8Network(ModelGraph graph, List<TensorQuantization> quantizations) {
        this.graph = graph;
        for (TensorQuantization t : quantizations) {
            (t.kind() == TensorQuantization.Kind.ACTIVATION ? activations : weights).put(t.tensor(), t);
        }
    }

    /** What the integer runtime cannot run, and where. */
    public static final class UnsupportedInt8Exception extends RuntimeException {
        public UnsupportedInt8Exception(String message) {
            super(message);
        }
    }

    /**
     * Checks that the network can run in integer arithmetic here and prepares it (plans are built on first use
     * per input shape).
     *
     * @param sampleShape an input shape to build the first plan for (proving that the network is supported)
     */
    public static Int8Network compile(ModelGraph graph, List<TensorQuantization> quantizations, long[] sampleShape) {
        if (!Dnnl.available()) {
            throw new UnsupportedInt8Exception("oneDNN is not available on this platform");
        }
        if (graph.inputs().size() != 1 || graph.outputs().size() != 1) {
            throw new UnsupportedInt8Exception("integer execution takes networks of one input and one output");
        }
        Int8Network network = new Int8Network(graph, quantizations);
        network.plan(sampleShape);
        return network;
    }

    /** The network's output for {@code input}, computed in integer arithmetic. */
    public INDArray output(INDArray input) {
        return plan(input.shape()).run(input.castTo(DataType.FLOAT));
    }

    /**
     * Every step's result for {@code input}, in plan order, by tensor name: integer levels (as floats, NCHW or
     * [N, F]) for quantization points, real values for the fp32 result before the final softmax. For diagnosis and
     * for tests that compare with the fake-quant graph's {@code <tensor>:q} values.
     */
    public Map<String, INDArray> trace(INDArray input) {
        return plan(input.shape()).trace(input.castTo(DataType.FLOAT));
    }

    private Plan plan(long[] shape) {
        List<Long> key = new ArrayList<>();
        for (long d : shape) {
            key.add(d);
        }
        return plans.computeIfAbsent(key, k -> new Plan(shape));
    }

    @Override
    public void close() {
        plans.values().forEach(Plan::close);
        plans.clear();
    }

    /** One step of a plan: reads the previous step's buffer, writes its own. */
    private interface Step extends AutoCloseable {
        long outputBytes();

        /** The tensor the step writes (a quantization point's integer levels, or the fp32 result). */
        String name();

        /** Its shape, NCHW (the buffer holds NHWC) or [N, F]. */
        long[] shape();

        ElementType type();

        void run(Pointer in, Pointer out);

        @Override
        void close();
    }

    /** The kernels for one input shape. */
    private final class Plan implements AutoCloseable {
        private final String firstPoint;
        private final TensorQuantization inputQuantization;
        private final long[] firstShape;
        private final List<Step> steps = new ArrayList<>();
        private final long[] outputShape;
        private final String tail;

        Plan(long[] inputShape) {
            SameDiff sd = graph.graph();
            List<SameDiffOp> quantized = quantizedOps(sd);
            if (quantized.isEmpty()) {
                throw new UnsupportedInt8Exception("no op of the network is quantized");
            }
            Map<String, long[]> shapes = shapes(sd, inputShape, quantized);
            String point = dataPoint(sd, quantized.get(0)).point;
            firstPoint = point;
            inputQuantization = activations.get(point);
            firstShape = shapes.get(point);
            if (firstShape.length != 4 && firstShape.length != 2) {
                throw new UnsupportedInt8Exception("the first quantized tensor '" + point + "' has rank "
                        + firstShape.length);
            }
            long[] current = firstShape;
            ElementType currentType = type(inputQuantization.grid());
            String last = null;
            try {
                for (int i = 0; i < quantized.size(); i++) {
                    SameDiffOp op = quantized.get(i);
                    DataPath path = dataPoint(sd, op);
                    if (!path.point.equals(point)) {
                        throw new UnsupportedInt8Exception("op '" + op.getName() + "' reads '" + path.point
                                + "' but the chain is at '" + point + "' (branches are not supported yet)");
                    }
                    for (SameDiffOp pool : path.pools) {
                        Pooling2DConfig c = ((MaxPooling2D) pool.getOp()).getConfig();
                        long[] out = shapes.get(pool.getOutputsOfOp().get(0));
                        long[] pad = pads(current[2], current[3], out[2], out[3], c.getKH(), c.getKW(), c.getSH(),
                                c.getSW(), 1, 1, c.getPH(), c.getPW(), c.getPaddingMode());
                        Int8MaxPool kernel = new Int8MaxPool(current[0], current[1], current[2], current[3],
                                currentType, c.getKH(), c.getKW(), c.getSH(), c.getSW(), pad[0], pad[1], pad[2], pad[3]);
                        steps.add(step(pool.getOutputsOfOp().get(0), out, currentType, kernel.dstBytes(),
                                kernel::execute, kernel));
                        current = out;
                    }
                    Output next = output(sd, op, i == quantized.size() - 1);
                    TensorQuantization w = weights.get(weightName(sd, op));
                    float[] bias = bias(sd, op);
                    ElementType dstType = next.quantization == null ? ElementType.F32 : type(next.quantization.grid());
                    long outChannels = shapes.get(op.getOutputsOfOp().get(0))[1];
                    float[] outputScales = new float[(int) outChannels];
                    float[] biasAcc = bias == null ? null : new float[(int) outChannels];
                    for (int o = 0; o < outChannels; o++) {
                        float sw = w.scales()[w.scales().length == 1 ? 0 : o];
                        float sy = next.quantization == null ? 1f
                                : next.quantization.scales()[next.quantization.scales().length == 1 ? 0 : o];
                        outputScales[o] = sw / sy;
                        if (biasAcc != null) {
                            biasAcc[o] = bias[o] / sw;
                        }
                    }
                    byte[] q = integerWeights(sd, w, op, current, path.flatten);
                    if (op.getOp() instanceof Conv2D conv) {
                        Conv2DConfig c = conv.getConfig();
                        long[] out = shapes.get(op.getOutputsOfOp().get(0));
                        long[] pad = pads(current[2], current[3], out[2], out[3], c.getKH(), c.getKW(), c.getSH(),
                                c.getSW(), c.getDH(), c.getDW(), c.getPH(), c.getPW(), c.getPaddingMode());
                        Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(current[0], current[1], current[2],
                                current[3], out[1], c.getKH(), c.getKW(), c.getSH(), c.getSW(), pad[0], pad[1], pad[2],
                                pad[3], c.getDH(), c.getDW());
                        Int8Conv2d kernel = new Int8Conv2d(g, currentType, dstType, q, biasAcc, outputScales,
                                next.relu);
                        steps.add(step(next.tensor, out, dstType, kernel.dstBytes(), kernel::execute, kernel));
                        current = out;
                    } else {
                        long features = 1;
                        for (int d = 1; d < current.length; d++) {
                            features *= current[d];
                        }
                        Int8Dense kernel = new Int8Dense(current[0], features, outChannels, currentType, dstType, q,
                                biasAcc, outputScales, next.relu);
                        steps.add(step(next.tensor, new long[] {current[0], outChannels}, dstType, kernel.dstBytes(),
                                kernel::execute, kernel));
                        current = new long[] {current[0], outChannels};
                    }
                    currentType = dstType;
                    if (next.quantization == null) {
                        last = next.tensor;
                        if (i != quantized.size() - 1) {
                            throw new UnsupportedInt8Exception("op '" + op.getName() + "' is followed by ops that are"
                                    + " not quantized before the next quantized op");
                        }
                    } else {
                        point = next.tensor;
                    }
                }
                if (last == null || current.length != 2) {
                    throw new UnsupportedInt8Exception("the last quantized op must be a dense layer writing fp32");
                }
                outputShape = current;
                tail = tail(sd, last);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        INDArray run(INDArray input) {
            INDArray first = firstPoint.equals(graph.inputs().get(0).name()) ? input
                    : GraphExecution.output(graph.graph(), Map.of(graph.inputs().get(0).name(), input),
                            List.of(firstPoint)).get(firstPoint).castTo(DataType.FLOAT);
            List<Pointer> buffers = new ArrayList<>();
            try {
                Pointer current = quantizeInput(first);
                buffers.add(current);
                for (Step step : steps) {
                    Pointer out = new BytePointer(step.outputBytes());
                    buffers.add(out);
                    step.run(current, out);
                    current = out;
                }
                float[] values = new float[(int) (outputShape[0] * outputShape[1])];
                new FloatPointer(current).get(values);
                INDArray result = Nd4j.create(values, outputShape, 'c');
                return switch (tail) {
                    case "softmax" -> Transforms.softmax(result, false);
                    default -> result;
                };
            } finally {
                buffers.forEach(Pointer::close);
            }
        }

        Map<String, INDArray> trace(INDArray input) {
            Map<String, INDArray> result = new java.util.LinkedHashMap<>();
            INDArray first = firstPoint.equals(graph.inputs().get(0).name()) ? input
                    : GraphExecution.output(graph.graph(), Map.of(graph.inputs().get(0).name(), input),
                            List.of(firstPoint)).get(firstPoint).castTo(DataType.FLOAT);
            List<Pointer> buffers = new ArrayList<>();
            try {
                Pointer current = quantizeInput(first);
                buffers.add(current);
                result.put(firstPoint, read(current, firstShape, type(inputQuantization.grid())));
                for (Step step : steps) {
                    Pointer out = new BytePointer(step.outputBytes());
                    buffers.add(out);
                    step.run(current, out);
                    result.put(step.name(), read(out, step.shape(), step.type()));
                    current = out;
                }
                return result;
            } finally {
                buffers.forEach(Pointer::close);
            }
        }

        private INDArray read(Pointer p, long[] shape, ElementType type) {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            float[] values = new float[(int) n];
            if (type == ElementType.F32) {
                new FloatPointer(p).get(values);
            } else {
                byte[] b = new byte[(int) n];
                new BytePointer(p).get(b);
                for (int i = 0; i < b.length; i++) {
                    values[i] = type == ElementType.U8 ? Byte.toUnsignedInt(b[i]) : b[i];
                }
            }
            if (shape.length == 4) {
                return Nd4j.create(values, new long[] {shape[0], shape[2], shape[3], shape[1]}, 'c')
                        .permute(0, 3, 1, 2).dup('c');
            }
            return Nd4j.create(values, shape, 'c');
        }

        /** Integer levels of the first point, NHWC (or [N, F]): {@code clamp(rint(x / s_c), qmin, qmax)}. */
        private Pointer quantizeInput(INDArray x) {
            TensorQuantization t = inputQuantization;
            QuantGrid grid = t.grid();
            long[] shape = x.shape();
            INDArray channelsLast = shape.length == 4 ? x.permute(0, 2, 3, 1) : x;
            float[] values = channelsLast.dup('c').data().asFloat();
            int channels = (int) shape[1];
            byte[] levels = new byte[values.length];
            for (int i = 0; i < values.length; i++) {
                float s = t.scales()[t.scales().length == 1 ? 0 : i % channels];
                float level = (float) Math.rint(values[i] / s);
                levels[i] = (byte) (int) Math.max(grid.qmin(), Math.min(grid.qmax(), level));
            }
            BytePointer p = new BytePointer(levels.length);
            p.put(levels);
            return p;
        }

        @Override
        public void close() {
            steps.forEach(Step::close);
            steps.clear();
        }
    }

    private static Step step(String name, long[] shape, ElementType type, long outputBytes,
            java.util.function.BiConsumer<Pointer, Pointer> run, AutoCloseable kernel) {
        return new Step() {
            @Override
            public long outputBytes() {
                return outputBytes;
            }

            @Override
            public String name() {
                return name;
            }

            @Override
            public long[] shape() {
                return shape;
            }

            @Override
            public ElementType type() {
                return type;
            }

            @Override
            public void run(Pointer in, Pointer out) {
                run.accept(in, out);
            }

            @Override
            public void close() {
                try {
                    kernel.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    private static ElementType type(QuantGrid grid) {
        if (grid.bits() > 8) {
            throw new UnsupportedInt8Exception(grid.bits() + "-bit activations do not fit 8-bit kernels");
        }
        return grid.signed() ? ElementType.S8 : ElementType.U8;
    }

    /** The quantized ops (readers of quantized weights), in graph order. */
    private List<SameDiffOp> quantizedOps(SameDiff sd) {
        List<SameDiffOp> ops = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            for (TensorQuantization w : weights.values()) {
                if (w.consumers().contains(op.getName())) {
                    if (!(op.getOp() instanceof Conv2D) && !(op.getOp() instanceof XwPlusB)) {
                        throw new UnsupportedInt8Exception("op '" + op.getName() + "' (" + op.getOp().opName()
                                + ") has no integer kernel yet");
                    }
                    ops.add(op);
                }
            }
        }
        return ops;
    }

    private static String weightName(SameDiff sd, SameDiffOp op) {
        String dq = op.getInputsToOp().get(1);
        int colon = dq.lastIndexOf(':');
        return colon < 0 ? dq : dq.substring(0, colon);
    }

    /** The path from a quantization point to an op's data input. */
    private record DataPath(String point, List<SameDiffOp> pools, boolean flatten) {
    }

    private DataPath dataPoint(SameDiff sd, SameDiffOp op) {
        String tensor = op.getInputsToOp().get(0);
        List<SameDiffOp> pools = new ArrayList<>();
        boolean flatten = false;
        while (!tensor.endsWith(":fq")) {
            SameDiffOp producer = producer(sd, tensor);
            DifferentialFunction f = producer == null ? null : producer.getOp();
            if (f instanceof MaxPooling2D) {
                pools.add(0, producer);
            } else if (f instanceof Reshape) {
                flatten = true;
            } else if (!(f instanceof Identity)) {
                throw new UnsupportedInt8Exception("op '" + op.getName() + "' reads '" + tensor
                        + "', which is not a quantized value");
            }
            tensor = producer.getInputsToOp().get(0);
        }
        String point = tensor.substring(0, tensor.length() - ":fq".length());
        if (!activations.containsKey(point)) {
            throw new UnsupportedInt8Exception("no quantization for '" + point + "'");
        }
        return new DataPath(point, pools, flatten);
    }

    /** Where an op's result goes: through identities and one ReLU to a quantization point, or to fp32. */
    private record Output(String tensor, TensorQuantization quantization, boolean relu) {
    }

    private Output output(SameDiff sd, SameDiffOp op, boolean last) {
        String tensor = op.getOutputsOfOp().get(0);
        boolean relu = false;
        while (true) {
            if (activations.containsKey(tensor)) {
                return new Output(tensor, activations.get(tensor), relu);
            }
            Variable v = sd.getVariables().get(tensor);
            List<String> readers = v.getInputsForOp() == null ? List.of() : v.getInputsForOp();
            if (readers.size() != 1) {
                break;
            }
            DifferentialFunction f = sd.getOps().get(readers.get(0)).getOp();
            boolean isRelu = f instanceof RectifiedLinear || "relu".equals(f.opName());
            if (!(f instanceof Identity) && !(isRelu && !relu)) {
                break;
            }
            relu |= isRelu;
            tensor = sd.getOps().get(readers.get(0)).getOutputsOfOp().get(0);
        }
        if (!last) {
            throw new UnsupportedInt8Exception("the result of op '" + op.getName() + "' reaches no quantization point"
                    + " through identity and ReLU alone");
        }
        return new Output(tensor, null, relu);
    }

    /** What follows the last quantized op to the graph output: nothing, or a softmax. */
    private String tail(SameDiff sd, String tensor) {
        String output = graph.outputs().get(0);
        if (tensor.equals(output)) {
            return "none";
        }
        List<String> readers = sd.getVariables().get(tensor).getInputsForOp();
        if (readers != null && readers.size() == 1) {
            SameDiffOp op = sd.getOps().get(readers.get(0));
            if (op.getOp() instanceof SoftMax && op.getOutputsOfOp().get(0).equals(output)) {
                return "softmax";
            }
        }
        throw new UnsupportedInt8Exception("'" + tensor + "' reaches the output '" + output
                + "' through ops other than one softmax");
    }

    private static SameDiffOp producer(SameDiff sd, String tensor) {
        Variable v = sd.getVariables().get(tensor);
        return v == null || v.getOutputOfOp() == null ? null : sd.getOps().get(v.getOutputOfOp());
    }

    private static float[] bias(SameDiff sd, SameDiffOp op) {
        if (op.getInputsToOp().size() < 3) {
            return null;
        }
        return sd.getVariable(op.getInputsToOp().get(2)).getArr().castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    /**
     * The weights' integer levels in the layout the kernel takes: OIHW for convolutions; [O, F] for dense layers,
     * with F in NHWC order when the input was flattened from NHWC integer levels.
     */
    private byte[] integerWeights(SameDiff sd, TensorQuantization w, SameDiffOp op, long[] inputShape,
            boolean flatten) {
        INDArray q = sd.getVariable(w.tensor() + ":q").getArr();
        if (!Dnnl.exactInt8Products() && q.amaxNumber().intValue() > 63) {
            throw new UnsupportedInt8Exception("weights '" + w.tensor() + "' use 8-bit levels but this CPU has no VNNI:"
                    + " its int8 kernels would saturate (quantize with 7-bit weights)");
        }
        INDArray layout;
        if (op.getOp() instanceof Conv2D conv) {
            // The layout from the shapes: a SameDiff copy or reload of the graph does not keep the config's weights
            // format (seen here: an OIYX convolution reported YXIO after dup()), while its iArgs still compute right.
            long[] ws = q.shape();
            long in = inputShape[1];
            long k0 = conv.getConfig().getKH();
            long k1 = conv.getConfig().getKW();
            if (ws[1] == in && ws[2] == k0 && ws[3] == k1) {
                layout = q; // OIYX
            } else if (ws[0] == k0 && ws[1] == k1 && ws[2] == in) {
                layout = q.permute(3, 2, 0, 1); // YXIO
            } else if (ws[1] == k0 && ws[2] == k1 && ws[3] == in) {
                layout = q.permute(0, 3, 1, 2); // OYXI
            } else {
                throw new UnsupportedInt8Exception("cannot tell the layout of weights " + java.util.Arrays.toString(ws)
                        + " of op '" + op.getName() + "' for " + in + " input channels");
            }
        } else {
            INDArray oi = q.transpose().dup('c'); // [nIn, nOut] -> [O, F]
            if (flatten && inputShape.length == 4) {
                long c = inputShape[1];
                long h = inputShape[2];
                long wd = inputShape[3];
                // F in NCHW order (c, h, w) -> NHWC order (h, w, c)
                oi = oi.reshape('c', oi.size(0), c, h, wd).permute(0, 2, 3, 1).reshape('c', oi.size(0), c * h * wd);
            }
            layout = oi;
        }
        // Through FLOAT: ND4J M2.1 casts INT8 to INT32 wrongly (seen here: [-52, -56, -40] became [-52, -8, -86]).
        float[] levels = layout.castTo(DataType.FLOAT).dup('c').data().asFloat();
        byte[] out = new byte[levels.length];
        for (int i = 0; i < levels.length; i++) {
            out[i] = (byte) levels[i];
        }
        return out;
    }

    /** Shapes of every tensor the plan needs, from one fp32 run of the graph on zeros. */
    private Map<String, long[]> shapes(SameDiff sd, long[] inputShape, List<SameDiffOp> quantized) {
        List<String> names = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            for (String out : op.getOutputsOfOp()) {
                if (sd.getVariable(out).dataType().isFPType()) {
                    names.add(out);
                }
            }
        }
        Map<String, INDArray> values = GraphExecution.output(sd,
                Map.of(graph.inputs().get(0).name(), Nd4j.zeros(DataType.FLOAT, inputShape)), names);
        Map<String, long[]> shapes = new HashMap<>();
        values.forEach((k, v) -> shapes.put(k, v.shape()));
        shapes.put(graph.inputs().get(0).name(), inputShape);
        return shapes;
    }

    /** Padding {top, left, bottom, right}: explicit, or SAME's (total = (out - 1) s + (k - 1) d + 1 - in, top half). */
    private static long[] pads(long h, long w, long outH, long outW, long kH, long kW, long sH, long sW, long dH,
            long dW, long pH, long pW, PaddingMode mode) {
        if (mode == PaddingMode.SAME) {
            long totalH = Math.max((outH - 1) * sH + (kH - 1) * dH + 1 - h, 0);
            long totalW = Math.max((outW - 1) * sW + (kW - 1) * dW + 1 - w, 0);
            return new long[] {totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2};
        }
        long bottom = (outH - 1) * sH + (kH - 1) * dH + 1 - h - pH;
        long right = (outW - 1) * sW + (kW - 1) * dW + 1 - w - pW;
        return new long[] {pH, pW, Math.max(bottom, 0), Math.max(right, 0)};
    }
}
