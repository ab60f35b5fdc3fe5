package org.quant4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.UNet;
import org.deeplearning4j.zoo.model.VGG16;
import org.deeplearning4j.zoo.model.VGG19;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.QuantizationListener;
import org.quant4j.QuantizationPhases;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.reference.HeScaling;

/**
 * The memory and time of {@code Quantizer.quantize} per phase ({@link QuantizationListener}): wall time, the JVM heap
 * in use, JavaCPP's native bytes ({@code Pointer.totalBytes()}: what was allocated through JavaCPP and not freed, the
 * int8 runtime's buffers; ND4J's CPU arrays are allocated in libnd4j and are not counted there, so the resident set is
 * their only measure; {@code Pointer.physicalBytes()}: the resident set as JavaCPP reads it), ND4J's workspaces, the peak
 * resident set of each phase (Linux's {@code VmHWM}, reset at each phase boundary through
 * {@code /proc/self/clear_refs}). A sampler thread reads the heap and native bytes every 10 ms for their peaks.
 *
 * <p>Usage: {@code QuantizeMemory MODEL [SAMPLES [BATCH [--live]]]}; MODEL is {@code mlp:WIDTH} (a dense layer
 * WIDTH x WIDTH, ReLU, then a 10-way softmax), {@code resnet50}, {@code vgg16}, {@code vgg19} or {@code unet} (DL4J zoo,
 * random weights); the calibration set is SAMPLES (default 32) seeded uniform random inputs of the model's shape in
 * batches of BATCH (default 8), read with the default options. With {@code --live} every phase ends with a forced
 * collection and the native bytes still held are reported: what the phase leaves alive, not what awaits the
 * collector (this changes the peaks; profile runs only). One model per JVM: the peak resident set is the process's.
 */
public final class QuantizeMemory {

    private static final long MB = 1L << 20;

    private QuantizeMemory() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: QuantizeMemory mlp:WIDTH|resnet50|vgg16|vgg19|unet [SAMPLES [BATCH [--live]]]");
            System.exit(2);
        }
        String name = args[0];
        int samples = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        boolean live = args.length > 3 && args[3].equals("--live");
        Nd4j.getRandom().setSeed(12345);
        Model net = model(name);
        long[] shape = inputShape(name);
        long params = net.numParams();
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < samples; i += batch) {
            long[] s = shape.clone();
            s[0] = Math.min(batch, samples - i);
            data.add(new DataSet(Nd4j.rand(DataType.FLOAT, s), Nd4j.zeros(DataType.FLOAT, s[0], 1)));
        }
        Meter meter = new Meter(live);
        meter.boundary();
        Reading before = meter.read();
        long modelRss = meter.overallPeak;
        meter.overallPeak = 0;
        meter.start();
        long start = System.nanoTime();
        QuantizedModel q = QuantizationPhases.listening(meter, () -> net instanceof MultiLayerNetwork m
                ? Quantizer.quantize(m, new ListDataSetIterator<>(data, batch))
                : Quantizer.quantize((ComputationGraph) net, new ListDataSetIterator<>(data, batch)));
        long quantizeNanos = System.nanoTime() - start;
        meter.boundary();
        long quantizePeak = meter.overallPeak;
        INDArray x = data.get(0).getFeatures();
        long outStart = System.nanoTime();
        meter.started((QuantizationListener.Phase) null);
        QuantizationPhases.listening(meter, () -> q.output(x));
        meter.finished(null, System.nanoTime() - outStart);
        // The model's own fp32 inference on the same batch, for scale: what running it once takes above the resident
        // set before it (its activations and DL4J's buffers), less any change of the committed Java heap meanwhile.
        long firstOutputPeak = meter.overallPeak;
        long dl4jBefore = meter.read().rss;
        long committedBefore = Runtime.getRuntime().totalMemory();
        long dl4jStart = System.nanoTime();
        meter.started("dl4j output");
        if (net instanceof MultiLayerNetwork m) {
            m.output(x);
        } else {
            ((ComputationGraph) net).output(x);
        }
        meter.finished(null, System.nanoTime() - dl4jStart);
        Row dl4jRow = meter.rows.get(meter.rows.size() - 1);
        long dl4jPeak = dl4jRow.peakRss;
        long dl4jRise = dl4jRow.sampledRss - dl4jBefore - (dl4jRow.committedAtPeak - committedBefore);
        meter.stop();

        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "model %s: %,d parameters (%.1f MB fp32), input %s, %d samples in batches"
                + " of %d, default options%s%n", name, params, params * 4.0 / MB, java.util.Arrays.toString(shape),
                samples, batch, live ? ", --live (a collection after every phase)" : ""));
        out.append(String.format(Locale.ROOT, "JVM max heap %d MB, JavaCPP maxBytes %d MB, maxPhysicalBytes %d MB%n",
                Runtime.getRuntime().maxMemory() / MB, Pointer.maxBytes() / MB, Pointer.maxPhysicalBytes() / MB));
        out.append(String.format(Locale.ROOT, "before quantize: rss %d MB (peak so far %d MB), heap %d MB, native %d MB%n",
                before.rss / MB, modelRss / MB, before.heap / MB, before.nativeBytes / MB));
        out.append(String.format(Locale.ROOT, "%-18s %9s %9s %9s %10s %10s %9s %9s %9s%n", "phase", "wall ms",
                "heap MB", "heapmax", "native MB", "nativemax", "ws MB", "rss MB", "peak MB"));
        for (Row r : meter.rows) {
            out.append(String.format(Locale.ROOT, "%-18s %9.0f %9d %9d %10d %10d %9d %9d %9d%n", r.label,
                    r.nanos / 1e6, r.end.heap / MB, r.maxHeap / MB, r.end.nativeBytes / MB, r.maxNative / MB,
                    r.end.workspaces / MB, r.end.rss / MB, r.peakRss / MB));
        }
        long activations = samples * activationValues(net, shape);
        out.append("where the quantizing thread was at each phase's largest sampled resident set:\n");
        for (Row r : meter.rows) {
            out.append(String.format(Locale.ROOT, "  %-18s %6d MB  %s%n", r.label.trim(), r.sampledRss / MB,
                    r.peakAt));
        }
        out.append(String.format(Locale.ROOT, "DL4J's own fp32 output on the first batch: peak %d MB; its largest"
                + " sampled resident set %d MB above the one before it, the committed heap's change set aside%n",
                dl4jPeak / MB, dl4jRise / MB));
        out.append(String.format(Locale.ROOT, "RESULT model=%s params=%d quantize_s=%.2f quantize_peak_rss_mb=%d"
                + " first_output_peak_rss_mb=%d bound_mb=%d activations=%d dl4j_output_rise_mb=%d%n", name, params,
                quantizeNanos / 1e9, quantizePeak / MB, firstOutputPeak / MB, (3 * 4 * params + 1024 * MB) / MB,
                activations, dl4jRise / MB));
        System.out.print(out);
    }

    /**
     * The activation values of one example: every layer's output in DL4J's forward pass, summed (measured after
     * quantize, so its allocations are not in the figures). Times the number of examples, the activation size of
     * calibrating on them.
     */
    static long activationValues(Model net, long[] shape) {
        long[] one = shape.clone();
        one[0] = 1;
        INDArray x = Nd4j.rand(DataType.FLOAT, one);
        java.util.Collection<INDArray> outputs = net instanceof MultiLayerNetwork m ? m.feedForward(x, false)
                : ((ComputationGraph) net).feedForward(x, false).values();
        return outputs.stream().filter(a -> a != x).mapToLong(INDArray::length).sum();
    }

    /** The named model, built (zoo models with their init() weights; ResNet-50's rescaled, as the zoo tests do). */
    static Model model(String name) throws IOException {
        if (name.startsWith("mlp:")) {
            int width = Integer.parseInt(name.substring(4));
            MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(12345)
                    .weightInit(WeightInit.XAVIER).list()
                    .layer(new DenseLayer.Builder().nIn(width).nOut(width).activation(Activation.RELU).build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(width).nOut(10)
                            .activation(Activation.SOFTMAX).build())
                    .build());
            net.init();
            return net;
        }
        ZooModel<?> zoo = switch (name) {
            case "resnet50" -> ResNet50.builder().numClasses(10).seed(12345L).build();
            case "vgg16" -> VGG16.builder().numClasses(10).seed(12345L).build();
            case "vgg19" -> VGG19.builder().numClasses(10).seed(12345L).build();
            case "unet" -> UNet.builder().numClasses(10).seed(12345L).build();
            default -> throw new IllegalArgumentException("unknown model '" + name
                    + "': mlp:WIDTH, resnet50, vgg16, vgg19 or unet");
        };
        Model net = zoo.init();
        if (name.equals("resnet50")) {
            HeScaling.rescale(net);
        }
        return net;
    }

    static long[] inputShape(String name) {
        if (name.startsWith("mlp:")) {
            return new long[] {1, Integer.parseInt(name.substring(4))};
        }
        return name.equals("unet") ? new long[] {1, 3, 512, 512} : new long[] {1, 3, 224, 224};
    }

    /** One reading of the process's memory. */
    record Reading(long heap, long nativeBytes, long physical, long workspaces, long rss) {
    }

    /** One phase as measured. */
    static final class Row {
        final String label;
        long nanos;
        long maxHeap;
        long maxNative;
        long peakRss;
        /** The largest resident set the sampler saw in the phase, and where the quantizing thread was then. */
        long sampledRss;
        /** The committed Java heap when the sampler saw {@link #sampledRss}. */
        long committedAtPeak;
        String peakAt = "";
        Reading end;

        Row(String label) {
            this.label = label;
        }
    }

    /** The listener: a row per phase (nested phases indented), peaks sampled meanwhile. */
    static final class Meter implements QuantizationListener {
        final boolean live;
        final List<Row> rows = new ArrayList<>();
        final Deque<Row> open = new ArrayDeque<>();
        long overallPeak;
        private volatile boolean running;
        private Thread sampler;

        Meter(boolean live) {
            this.live = live;
        }

        void start() {
            running = true;
            Thread quantizing = Thread.currentThread();
            sampler = new Thread(() -> {
                while (running) {
                    long heap = heapUsed();
                    long nat = Pointer.totalBytes();
                    long rss = status("VmRSS:");
                    synchronized (this) {
                        String at = null;
                        for (Row r : open) {
                            r.maxHeap = Math.max(r.maxHeap, heap);
                            r.maxNative = Math.max(r.maxNative, nat);
                            if (rss > r.sampledRss) {
                                r.sampledRss = rss;
                                r.committedAtPeak = Runtime.getRuntime().totalMemory();
                                r.peakAt = String.format(Locale.ROOT, "heap committed %d MB, used %d MB; ",
                                        Runtime.getRuntime().totalMemory() / MB, heap / MB)
                                        + (at != null ? at : (at = where(quantizing)));
                            }
                        }
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "quantize-memory-sampler");
            sampler.setDaemon(true);
            sampler.start();
        }

        /** The innermost quant4j frames of {@code thread}'s stack, innermost first. */
        static String where(Thread thread) {
            StringBuilder b = new StringBuilder();
            int n = 0;
            for (StackTraceElement e : thread.getStackTrace()) {
                if (e.getClassName().startsWith("org.quant4j.") && !e.getClassName().contains("benchmarks") && n < 4) {
                    b.append(n++ == 0 ? "" : " < ").append(e.getClassName().replace("org.quant4j.", ""))
                            .append('.').append(e.getMethodName()).append(':').append(e.getLineNumber());
                }
            }
            return b.toString();
        }

        void stop() throws InterruptedException {
            running = false;
            sampler.join();
        }

        @Override
        public synchronized void started(Phase phase) {
            started(phase == null ? "first output" : phase.name().toLowerCase(Locale.ROOT));
        }

        /** Opens a row labelled {@code label}. */
        synchronized void started(String label) {
            boundary();
            Row row = new Row("  ".repeat(open.size()) + label);
            rows.add(row);
            open.push(row);
        }

        @Override
        public synchronized void finished(Phase phase, long nanos) {
            if (live) {
                System.gc();
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            boundary();
            Row row = open.pop();
            row.nanos = nanos;
            row.end = read();
            row.maxHeap = Math.max(row.maxHeap, row.end.heap);
            row.maxNative = Math.max(row.maxNative, row.end.nativeBytes);
        }

        /** Reads the peak resident set since the last boundary into every open phase, then resets it. */
        synchronized void boundary() {
            long hwm = status("VmHWM:");
            overallPeak = Math.max(overallPeak, hwm);
            for (Row r : open) {
                r.peakRss = Math.max(r.peakRss, hwm);
            }
            try {
                Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            } catch (IOException e) {
                // not resettable here: the peaks are then the process's so far
            }
        }

        Reading read() {
            long ws = 0;
            for (MemoryWorkspace w : Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread()) {
                ws += w.getCurrentSize();
            }
            return new Reading(heapUsed(), Pointer.totalBytes(), Pointer.physicalBytes(), ws, status("VmRSS:"));
        }

        static long heapUsed() {
            Runtime rt = Runtime.getRuntime();
            return rt.totalMemory() - rt.freeMemory();
        }

        /** A {@code /proc/self/status} field, in bytes. */
        static long status(String field) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith(field)) {
                        return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]) * 1024;
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return -1;
        }
    }
}
