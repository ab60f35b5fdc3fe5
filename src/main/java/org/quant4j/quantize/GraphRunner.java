package org.quant4j.quantize;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationException;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.InputFeed;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.NonFiniteRows;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.runtime.Int8Network;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one quantized graph: in the int8 runtime where it can (compiled at the first call, one plan per set of input
 * shapes, at most {@link #maxPlans()} kept), else in the fake-quant graph. Every call crosses {@link InputFeed} first
 * and is checked after: every output has a value, a batch of N examples gives N rows in every output (a different count means the input's size
 * does not fit the network: an image size that a flatten maps to another number of rows), and the examples holding
 * a non-finite input value get NaN outputs ({@link NonFiniteRows}). Thread-safe.
 */
public final class GraphRunner {

    private static final Logger LOG = LoggerFactory.getLogger(GraphRunner.class);

    private final ModelGraph graph;
    private final List<TensorQuantization> quantizations;
    private Int8Network int8;
    private String int8Unavailable;
    private int maxPlans = Int8Network.DEFAULT_MAX_PLANS;
    /** The graph {@link #simulate} runs: {@code graph}'s with the weights dequantized once (built at first use). */
    private SameDiff executionGraph;

    public GraphRunner(ModelGraph graph, List<TensorQuantization> quantizations) {
        this.graph = graph;
        this.quantizations = List.copyOf(quantizations);
    }

    /** The outputs: from the int8 plan for these shapes where there is one, else from the fake-quant graph. */
    public INDArray[] outputs(INDArray[] inputs) {
        Call call = call(inputs);
        INDArray[] result = null;
        Int8Network network = int8(call.ordered());
        if (network != null) {
            result = int8Outputs(network, call.ordered(), false);
        }
        return checked(call, result != null ? result : simulate(call.feed()));
    }

    /** The outputs of the fake-quant graph. */
    public INDArray[] fakeQuantOutputs(INDArray[] inputs) {
        Call call = call(inputs);
        return checked(call, simulate(call.feed()));
    }

    /** The outputs of the int8 runtime, or a {@link QuantizationException} saying why there is none here. */
    public INDArray[] int8Outputs(INDArray[] inputs) {
        Call call = call(inputs);
        Int8Network network = int8(call.ordered());
        if (network == null) {
            throw new QuantizationException("this model has no integer execution here: " + int8Unavailable());
        }
        return checked(call, int8Outputs(network, call.ordered(), true));
    }

    /**
     * One call's inputs, checked ({@link InputFeed}), by name and in the graph's order, with the examples holding a
     * non-finite value ({@code bad}) set to 0 ({@link NonFiniteRows#zeroed}); {@code given}: the caller's arrays.
     */
    private record Call(Map<String, INDArray> feed, INDArray[] ordered, INDArray[] given, long[] bad) {
    }

    private Call call(INDArray[] inputs) {
        Map<String, INDArray> feed = InputFeed.of(graph.inputs(), inputs, "input");
        INDArray[] given = ordered(feed);
        long[] bad = given.length == 0 || given[0].rank() == 0 ? new long[0] : NonFiniteRows.of(given);
        if (bad.length == 0) {
            return new Call(feed, given, given, bad);
        }
        INDArray[] zeroed = NonFiniteRows.zeroed(given, bad);
        Map<String, INDArray> zeroedFeed = new java.util.LinkedHashMap<>();
        for (int i = 0; i < zeroed.length; i++) {
            zeroedFeed.put(graph.inputs().get(i).name(), zeroed[i]);
        }
        return new Call(zeroedFeed, zeroed, given, bad);
    }

    /**
     * The integer plan's outputs, or null when this shape falls back to the fake-quant graph (or, when
     * {@code required}, a {@link QuantizationException} saying why).
     */
    private INDArray[] int8Outputs(Int8Network network, INDArray[] ordered, boolean required) {
        try {
            return network.outputs(ordered);
        } catch (Int8Network.PlanFailedException e) {
            if (required) {
                throw new QuantizationException("no integer execution for input shapes " + shapesText(ordered)
                        + ": " + e.getMessage(), e);
            }
            if (e.firstTime()) {
                LOG.warn("integer execution unavailable for input shapes {}: {}; running the fake-quant graph for"
                        + " them (int8Fallbacks() lists such shapes)", shapesText(ordered), e.getMessage());
            }
            return null;
        } catch (Int8Network.UnsupportedInt8Exception e) {
            synchronized (this) {
                int8Unavailable = e.getMessage();
            }
            if (required) {
                throw new QuantizationException("this model has no integer execution here: " + e.getMessage(), e);
            }
            LOG.warn("integer execution unavailable ({}); running the fake-quant graph", e.getMessage());
            return null;
        }
    }

    /** {@code outputs} after the checks of every call (see the class comment). */
    private INDArray[] checked(Call call, INDArray[] outputs) {
        INDArray[] inputs = call.given();
        long batch = inputs[0].rank() == 0 ? -1 : inputs[0].size(0);
        List<String> names = graph.outputs();
        for (int i = 0; i < outputs.length; i++) {
            if (outputs[i] == null) {
                throw new QuantizationException("the graph computed no value for its output '" + names.get(i)
                        + "' (input shape(s) " + shapesText(inputs) + "): the model is damaged");
            }
            if (batch >= 0 && outputs[i].rank() > 0 && outputs[i].size(0) != batch) {
                throw new QuantizationException("input of shape(s) " + shapesText(inputs) + " does not fit the"
                        + " network (inputs " + graph.inputs() + "): output '" + names.get(i) + "' has "
                        + outputs[i].size(0) + " rows for a batch of " + batch + " examples; check the sizes that"
                        + " the network was trained for (image height and width)");
            }
        }
        if (batch >= 0) {
            NonFiniteRows.poison(outputs, call.bad(), batch);
        }
        return outputs;
    }

    private static String shapesText(INDArray[] arrays) {
        return Arrays.stream(arrays).map(a -> Arrays.toString(a.shape())).toList().toString();
    }

    /** The fed inputs in the graph's input order. */
    private INDArray[] ordered(Map<String, INDArray> feed) {
        return graph.inputs().stream().map(spec -> feed.get(spec.name())).toArray(INDArray[]::new);
    }

    private INDArray[] simulate(Map<String, INDArray> feed) {
        Map<String, INDArray> out;
        try {
            out = GraphExecution.output(executionGraph(), feed, graph.outputs());
        } catch (QuantizationException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new QuantizationException("the network cannot compute its outputs for input shape(s) "
                    + shapesText(ordered(feed)) + " (network inputs " + graph.inputs() + "): " + e.getMessage(), e);
        }
        return graph.outputs().stream().map(out::get).toArray(INDArray[]::new);
    }

    /**
     * The fake-quant graph as it runs: the weights' INT8 levels dequantized once into fp32 constants (the same values
     * the saved graph computes per call), so that a call runs only the activations' quantization and the layers.
     */
    private synchronized SameDiff executionGraph() {
        if (executionGraph == null) {
            executionGraph = FakeQuantRewriter.withDequantizedWeights(graph.graph());
        }
        return executionGraph;
    }

    private synchronized Int8Network int8(INDArray[] inputs) {
        if (int8Unavailable != null) {
            return null;
        }
        if (int8 == null) {
            try {
                int8 = Int8Network.compile(graph, quantizations,
                        Arrays.stream(inputs).map(INDArray::shape).toArray(long[][]::new));
                int8.maxPlans(maxPlans);
            } catch (Int8Network.UnsupportedInt8Exception | IllegalStateException e) {
                int8Unavailable = e.getMessage();
                LOG.warn("integer execution unavailable ({}); running the fake-quant graph", e.getMessage());
            }
        }
        return int8;
    }

    /** The int8 runtime once a call has compiled it, else null. */
    public synchronized Int8Network int8Network() {
        return int8;
    }

    /** Why integer execution is not used for any shape, or null. */
    public synchronized String int8Unavailable() {
        return int8Unavailable;
    }

    /** Sets how many int8 plans are kept, at least 1 ({@link Int8Network#maxPlans(int)}). */
    public synchronized void maxPlans(int plans) {
        if (plans < 1) {
            throw new IllegalArgumentException("maxPlans must be at least 1, got " + plans);
        }
        maxPlans = plans;
        if (int8 != null) {
            int8.maxPlans(plans);
        }
    }

    public synchronized int maxPlans() {
        return maxPlans;
    }

    /** The input shapes whose int8 plan could not be built (among those remembered), with the reason. */
    public synchronized List<Int8Network.Fallback> fallbacks() {
        return int8 == null ? List.of() : int8.fallbacks();
    }
}
