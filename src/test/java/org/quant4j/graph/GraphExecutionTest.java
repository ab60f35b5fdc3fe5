package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.memory.NoOpMemoryMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.dtype.Cast;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.reference.FashionCnn;

/**
 * {@link GraphExecution} closes intermediate arrays during and after a run: every value it returns equals, bit for
 * bit, what a session that frees nothing computes, stays valid after later runs, and arrays read by several ops are
 * not freed early. {@link FakeQuantRewriter#withDequantizedWeights} gives the same outputs without the per-call
 * dequantization of the weights.
 */
class GraphExecutionTest {

    static QuantizedModel model;
    static String input;

    @BeforeAll
    static void quantize() {
        MultiLayerNetwork net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        model = Quantizer.quantize(net, TestNetworks.randomIterator(16, new long[] {16, 1, 28, 28}, 10, 2, 3));
        input = model.inputs().get(0).name();
    }

    /** Every variable computed by ops, so that most arrays are read by an op and also returned. */
    private static List<String> opOutputs(SameDiff sd) {
        List<String> names = new ArrayList<>();
        for (SameDiffOp op : sd.getOps().values()) {
            names.addAll(op.getOutputsOfOp());
        }
        return names;
    }

    /** What SameDiff computes with a session that frees nothing (quant4j's execution before). */
    private static Map<String, INDArray> reference(SameDiff sd, Map<String, INDArray> feed, List<String> names) {
        InferenceSession session = new InferenceSession(sd);
        session.setMmgr(new NoOpMemoryMgr());
        return session.output(names, feed, null, List.of(), List.of(), At.defaultAt(Operation.INFERENCE));
    }

    private static Map<String, float[]> snapshot(Map<String, INDArray> values) {
        Map<String, float[]> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, v.castTo(DataType.FLOAT).dup('c').data().asFloat()));
        return out;
    }

    @Test
    void everyValueEqualsANonFreeingSessionAndSurvivesLaterRuns() {
        SameDiff sd = model.graph();
        Nd4j.getRandom().setSeed(7);
        Map<String, INDArray> feed = Map.of(input, Nd4j.rand(DataType.FLOAT, 3, 1, 28, 28));
        List<String> all = opOutputs(sd);
        Map<String, float[]> expected = snapshot(reference(sd, feed, all));
        Map<String, INDArray> first = GraphExecution.output(sd, feed, all);
        assertEquals(expected.keySet(), first.keySet());
        Map<String, float[]> firstValues = snapshot(first);
        for (String name : all) {
            assertArrayEquals(expected.get(name), firstValues.get(name), name);
        }
        // Later runs (other inputs, only the outputs requested: intermediates freed during the run) leave the
        // arrays returned before untouched.
        for (int i = 0; i < 5; i++) {
            Map<String, INDArray> other = Map.of(input, Nd4j.rand(DataType.FLOAT, 3, 1, 28, 28));
            GraphExecution.output(sd, other, model.outputNames());
        }
        for (String name : all) {
            assertFalse(first.get(name).wasClosed(), name);
            assertArrayEquals(expected.get(name), snapshot(Map.of(name, first.get(name))).get(name), name);
        }
    }

    /**
     * A streaming run hands over every requested value once, equal to a non-freeing session's, and frees it when the
     * ops that read it have run: the values' buffers are closed by the time the run returns (none is held).
     */
    @Test
    void streamedValuesEqualANonFreeingSessionAndAreFreedAfterTheirReaders() {
        SameDiff sd = model.graph();
        Nd4j.getRandom().setSeed(11);
        Map<String, INDArray> feed = Map.of(input, Nd4j.rand(DataType.FLOAT, 3, 1, 28, 28));
        List<String> all = new ArrayList<>(opOutputs(sd));
        all.add(input);
        Map<String, float[]> expected = snapshot(reference(sd, feed, all));
        Map<String, float[]> streamed = new LinkedHashMap<>();
        List<INDArray> handed = new ArrayList<>();
        GraphExecution.stream(sd, feed, all, (name, value) -> {
            assertFalse(streamed.containsKey(name), name + " handed over twice");
            streamed.put(name, value.dup().data().asFloat());
            handed.add(value);
        });
        assertEquals(expected.keySet(), streamed.keySet());
        for (String name : all) {
            assertArrayEquals(expected.get(name), streamed.get(name), name);
        }
        long open = handed.stream().filter(a -> a != feed.get(input) && !a.wasClosed()).count();
        long computed = handed.stream().filter(a -> a != feed.get(input)).count();
        assertTrue(computed > 10, computed + " values computed");
        assertEquals(0, open, open + " of " + computed + " streamed values still hold their buffers after the run");
        assertFalse(feed.get(input).wasClosed(), "the fed input was closed");
    }

    @Test
    void outputsOnlyEqualANonFreeingSessionRunAfterRun() {
        SameDiff sd = model.graph();
        for (int i = 0; i < 4; i++) {
            Map<String, INDArray> feed = Map.of(input, Nd4j.rand(DataType.FLOAT, 1 + i, 1, 28, 28));
            Map<String, float[]> expected = snapshot(reference(sd, feed, model.outputNames()));
            Map<String, float[]> actual = snapshot(GraphExecution.output(sd, feed, model.outputNames()));
            for (String name : model.outputNames()) {
                assertArrayEquals(expected.get(name), actual.get(name), name);
            }
        }
    }

    @Test
    void anArrayReadByTwoOpsIsFreedOnlyAfterBoth() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 4);
        SDVariable a = sd.math.exp("a", x);
        SDVariable b = sd.math.mul("b", a, sd.constant("two", Nd4j.scalar(2f)));
        SDVariable c = sd.math.add("c", a, b); // reads a after b has run
        SDVariable d = sd.identity("d", c);
        sd.math.sub("e", d, a);
        Map<String, INDArray> feed = Map.of("x", Nd4j.createFromArray(new float[][] {{-1f, -0.5f, 0f, 0.25f}, {0.5f, 1f, 1.5f, -2f}}));
        for (List<String> outputs : List.of(List.of("e"), List.of("d", "e"), List.of("c"), List.of("a", "e"))) {
            Map<String, float[]> expected = snapshot(reference(sd, feed, outputs));
            for (int run = 0; run < 3; run++) {
                Map<String, float[]> actual = snapshot(GraphExecution.output(sd, feed, outputs));
                for (String name : outputs) {
                    assertArrayEquals(expected.get(name), actual.get(name), outputs + ": " + name);
                }
            }
        }
        assertTrue(GraphExecution.plainDataflow(sd));
    }

    @Test
    void dequantizedWeightsGiveTheSameOutputsWithoutPerCallDequantization() {
        SameDiff saved = model.graph();
        SameDiff execution = FakeQuantRewriter.withDequantizedWeights(saved);
        assertTrue(execution.getOps().size() < saved.getOps().size(),
                execution.getOps().size() + " ops, saved graph " + saved.getOps().size());
        for (SameDiffOp op : execution.getOps().values()) {
            assertFalse(op.getOp() instanceof Cast, "a cast remains: " + op.getName());
        }
        int weights = 0;
        for (var t : model.quantizations()) {
            if (t.kind() != TensorQuantization.Kind.WEIGHT) {
                continue;
            }
            weights++;
            String dq = t.inputAxis() >= 0 ? PointNames.dequantizedUnfolded(t.tensor())
                    : PointNames.dequantized(t.tensor());
            assertEquals(VariableType.CONSTANT, execution.getVariable(dq).getVariableType(), dq);
            assertEquals(DataType.FLOAT, execution.getVariable(dq).getArr().dataType(), dq);
            assertFalse(execution.hasVariable(PointNames.levels(t.tensor())), PointNames.levels(t.tensor()));
            // the saved form keeps its INT8 levels and dequantization
            assertEquals(DataType.INT8, saved.getVariable(PointNames.levels(t.tensor())).getArr().dataType());
            assertNotNull(saved.getVariables().get(dq).getOutputOfOp(), dq);
        }
        assertTrue(weights > 0);
        List<String> layers = new ArrayList<>(model.outputNames());
        for (var op : saved.getOps().values()) {
            for (String out : op.getOutputsOfOp()) {
                if (execution.hasVariable(out) && execution.getVariable(out).getVariableType() == VariableType.ARRAY
                        && !layers.contains(out)) {
                    layers.add(out);
                }
            }
        }
        for (int i = 0; i < 3; i++) {
            Map<String, INDArray> feed = Map.of(input, Nd4j.rand(DataType.FLOAT, 2 + i, 1, 28, 28));
            Map<String, float[]> expected = snapshot(GraphExecution.output(saved, feed, layers));
            Map<String, float[]> actual = snapshot(GraphExecution.output(execution, feed, layers));
            for (String name : layers) {
                assertArrayEquals(expected.get(name), actual.get(name), name);
            }
            assertArrayEquals(expected.get(model.outputNames().get(0)),
                    snapshot(Map.of("o", model.outputs(QuantizedModel.Execution.FAKE_QUANT, feed.get(input))[0]))
                            .get("o"));
        }
    }
}
