package org.quant4j.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.TestNetworks;
import org.quant4j.convert.Dl4jConverter;

/**
 * Graph copies made without serializing the arrays: the copy computes what the original does, owns its arrays
 * (or shares exactly those named), and leaves the original's arrays the very instances they were.
 */
class GraphCopyTest {

    private static ModelGraph graph() {
        return Dl4jConverter.convert(TestNetworks.cnn());
    }

    private static Map<String, INDArray> arrays(SameDiff sd) {
        Map<String, INDArray> all = new LinkedHashMap<>();
        for (String name : sd.getConstantArrays().arrayNames()) {
            all.put(name, sd.getConstantArrays().getArray(name));
        }
        for (String name : sd.getVariablesArrays().arrayNames()) {
            all.put(name, sd.getVariablesArrays().getArray(name));
        }
        return all;
    }

    private static INDArray output(ModelGraph g, SameDiff sd, INDArray x) {
        String out = g.outputs().get(0);
        return GraphExecution.output(sd, Map.of(g.inputs().get(0).name(), x), List.of(out)).get(out);
    }

    @Test
    void aCopyComputesTheSameAndOwnsItsArrays() {
        ModelGraph g = graph();
        Map<String, INDArray> before = arrays(g.graph());
        assertTrue(before.values().stream().anyMatch(a -> a.length() > GraphCopy.INLINE_ELEMENTS),
                "the test graph has an array large enough to be stood in for");
        Map<String, INDArray> values = new LinkedHashMap<>();
        before.forEach((name, a) -> values.put(name, a.dup()));
        SameDiff copy = GraphCopy.of(g.graph());

        Map<String, INDArray> after = arrays(g.graph());
        assertEquals(before.keySet(), after.keySet());
        before.forEach((name, a) -> {
            assertSame(a, after.get(name), name + ": the original keeps its own array");
            assertEquals(values.get(name), a, name + ": unchanged in the original");
        });
        Map<String, INDArray> copied = arrays(copy);
        assertEquals(before.keySet(), copied.keySet());
        copied.forEach((name, a) -> {
            assertNotSame(before.get(name), a, name + ": the copy has its own array");
            assertEquals(values.get(name), a, name + ": the same values in the copy");
        });

        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 1, 28, 28);
        assertEquals(output(g, g.graph(), x), output(g, copy, x));
        String big = before.entrySet().stream().filter(e -> e.getValue().length() > GraphCopy.INLINE_ELEMENTS)
                .findFirst().orElseThrow().getKey();
        copied.get(big).assign(0);
        assertEquals(values.get(big), g.graph().getArrForVarName(big), "changing the copy leaves the original as is");
    }

    @Test
    void sharedArraysAreTheOriginalsUntilUnshared() {
        ModelGraph g = graph();
        Map<String, INDArray> before = arrays(g.graph());
        String big = before.entrySet().stream().filter(e -> e.getValue().length() > GraphCopy.INLINE_ELEMENTS)
                .findFirst().orElseThrow().getKey();
        SameDiff copy = GraphCopy.of(g.graph(), Set.of(big));
        assertSame(before.get(big), copy.getArrForVarName(big));
        before.keySet().stream().filter(n -> !n.equals(big))
                .forEach(n -> assertNotSame(before.get(n), copy.getArrForVarName(n), n));

        GraphCopy.unshare(g.graph(), copy, Set.of(big));
        assertNotSame(before.get(big), copy.getArrForVarName(big));
        assertEquals(before.get(big), copy.getArrForVarName(big));

        SameDiff reader = GraphCopy.sharingArrays(g.graph());
        before.forEach((n, a) -> assertSame(a, reader.getArrForVarName(n), n));
    }

    @Test
    void releaseFreesTheGraphsArraysAndNoOtherGraphs() {
        ModelGraph g = graph();
        SameDiff copy = GraphCopy.of(g.graph());
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 1, 28, 28);
        INDArray expected = output(g, g.graph(), x);
        Map<String, INDArray> owned = arrays(copy);
        GraphCopy.release(copy);
        owned.forEach((n, a) -> assertTrue(a.wasClosed(), n + " closed"));
        arrays(g.graph()).forEach((n, a) -> assertTrue(!a.wasClosed(), n + " of the original still open"));
        assertEquals(expected, output(g, g.graph(), x), "the original still runs");
    }
}
