package org.quant4j.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.quant4j.QuantizedModel;

/**
 * The models of one executor JVM, made from broadcast bytes once and shared by the JVM's tasks.
 *
 * <p>A {@link QuantizedModel} is loaded once per broadcast (its {@code output} is thread-safe: the tasks of the
 * executor share it). A DL4J network is not thread-safe, so fp32 networks are kept in a pool per broadcast: a task
 * borrows one (made from the bytes when none is free) and gives it back; an executor holds at most as many as it
 * runs tasks at once. The caches are keyed by the broadcast's id and keep the {@value #CAPACITY} most recently used
 * broadcasts.
 */
final class ExecutorModels {

    /** Broadcasts whose models are kept per JVM; the least recently used is dropped beyond it. */
    static final int CAPACITY = 8;

    private static final Map<Long, QuantizedModel> QUANTIZED = lru();
    private static final Map<Long, Deque<Model>> FP32 = lru();
    /** Models made from bytes, per broadcast id: what the tests check "loaded once per JVM" with. */
    private static final Map<Long, Integer> LOADS = lru();

    private ExecutorModels() {
    }

    private static <V> Map<Long, V> lru() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, V> eldest) {
                return size() > CAPACITY;
            }
        };
    }

    /** The quantized model of {@code bytes} (a {@code .q4j} file's bytes), loaded on this JVM's first call. */
    static QuantizedModel quantized(Broadcast<byte[]> bytes) {
        synchronized (QUANTIZED) {
            QuantizedModel model = QUANTIZED.get(bytes.id());
            if (model == null) {
                try {
                    model = QuantizedModel.load(new ByteArrayInputStream(bytes.value()));
                } catch (IOException e) {
                    throw new UncheckedIOException("broadcast " + bytes.id() + ": the quantized model's bytes do not"
                            + " load: " + e.getMessage(), e);
                }
                QUANTIZED.put(bytes.id(), model);
                counted(bytes.id());
            }
            return model;
        }
    }

    /**
     * {@code work} applied to an fp32 network of {@code bytes} ({@link ModelSerializer}'s format) that no other task
     * uses meanwhile.
     */
    static <T> T withFp32(Broadcast<byte[]> bytes, boolean graph, Function<Model, T> work) {
        Model net;
        synchronized (FP32) {
            net = FP32.computeIfAbsent(bytes.id(), id -> new ArrayDeque<>()).pollFirst();
        }
        if (net == null) {
            net = fp32(bytes.value(), graph, "broadcast " + bytes.id());
            synchronized (QUANTIZED) {
                counted(bytes.id());
            }
        }
        try {
            return work.apply(net);
        } finally {
            synchronized (FP32) {
                FP32.computeIfAbsent(bytes.id(), id -> new ArrayDeque<>()).addFirst(net);
            }
        }
    }

    private static void counted(long id) {
        LOADS.merge(id, 1, Integer::sum);
    }

    /** How many models this JVM made from the bytes of broadcast {@code id} (kept while the broadcast is cached). */
    static int loads(long id) {
        synchronized (QUANTIZED) {
            return LOADS.getOrDefault(id, 0);
        }
    }

    /** The bytes of a {@code .q4j} file of {@code model}. */
    static byte[] bytes(QuantizedModel model) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            model.save(out);
        } catch (IOException e) {
            throw new UncheckedIOException("the quantized model cannot be saved for broadcasting: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /** The bytes of {@code net} in {@link ModelSerializer}'s format (without an updater: inference only). */
    static byte[] bytes(Model net) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ModelSerializer.writeModel(net, out, false);
        } catch (IOException e) {
            throw new UncheckedIOException("the network cannot be serialized for broadcasting: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /** A network from {@link ModelSerializer}'s bytes. */
    static Model fp32(byte[] bytes, boolean graph, String source) {
        try {
            return graph ? ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes), false)
                    : ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes), false);
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": the network's bytes do not load: " + e.getMessage(), e);
        }
    }

    /** The first output of a DL4J network for {@code features}, in inference mode. */
    static org.nd4j.linalg.api.ndarray.INDArray output(Model net, org.nd4j.linalg.api.ndarray.INDArray features) {
        if (net instanceof MultiLayerNetwork m) {
            return m.output(features, false);
        }
        return ((ComputationGraph) net).outputSingle(false, features);
    }
}
