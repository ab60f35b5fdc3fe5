package org.quant4j.file;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.flatbuffers.FlatBufferBuilder;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.nd4j.graph.FlatGraph;
import org.nd4j.graph.FlatNode;

/**
 * GraphBufferCheck against a graph whose lengths are each within the buffer but point many times at the same bytes:
 * what SameDiff's reader would allocate from it grows with the square of the buffer.
 */
class GraphBufferCheckTest {

    /** A graph of {@code nodes} references to one op whose {@code names} output names are one 100-character string. */
    private static ByteBuffer sharedGraph(int nodes, int names) {
        FlatBufferBuilder b = new FlatBufferBuilder();
        int name = b.createString("x".repeat(100));
        int[] nameRefs = new int[names];
        Arrays.fill(nameRefs, name);
        int outputNames = FlatNode.createOutputNamesVector(b, nameRefs);
        FlatNode.startFlatNode(b);
        FlatNode.addOutputNames(b, outputNames);
        int node = FlatNode.endFlatNode(b);
        int[] nodeRefs = new int[nodes];
        Arrays.fill(nodeRefs, node);
        int nodeVector = FlatGraph.createNodesVector(b, nodeRefs);
        FlatGraph.startFlatGraph(b);
        FlatGraph.addNodes(b, nodeVector);
        FlatGraph.finishFlatGraphBuffer(b, FlatGraph.endFlatGraph(b));
        return b.dataBuffer();
    }

    @Test
    void lengthsPointingManyTimesAtTheSameBytesAreRefused() {
        // 2,000 x 2,000 names of 100 characters: 400 million characters to decode from a buffer of 16 kB.
        ByteBuffer shared = sharedGraph(2000, 2000);
        assertTrue(shared.remaining() < 20_000, "a small buffer: " + shared.remaining());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> GraphBufferCheck.check(shared));
        assertTrue(e.getMessage().startsWith("its sizes add up to more than 4 times its"), e.getMessage());

        // The same shape with each name once is a graph like any other.
        assertDoesNotThrow(() -> GraphBufferCheck.check(sharedGraph(1, 1)));
    }
}
