package org.quant4j.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Chunks follow the largest activation seen: one example until one is seen, then as many examples as fit
 * {@link ExampleChunks#CHUNK_VALUES} values of it; the chunks of a batch hold its rows once each, in order.
 */
class ExampleChunksTest {

    @Test
    void oneExampleUntilAnActivationIsSeenThenAsManyAsFit() {
        ExampleChunks chunks = new ExampleChunks();
        assertEquals(1, chunks.examplesPerChunk());
        chunks.saw(Nd4j.create(DataType.FLOAT, 4, 64, 56, 56), 4); // 200,704 values per example
        assertEquals(ExampleChunks.CHUNK_VALUES / (64 * 56 * 56), chunks.examplesPerChunk());
        chunks.saw(Nd4j.create(DataType.FLOAT, 2, 10), 2); // smaller: the largest stands
        assertEquals(ExampleChunks.CHUNK_VALUES / (64 * 56 * 56), chunks.examplesPerChunk());
        chunks.saw(Nd4j.create(DataType.FLOAT, 1, ExampleChunks.CHUNK_VALUES * 2), 1); // beyond: one example
        assertEquals(1, chunks.examplesPerChunk());
    }

    @Test
    void chunksDecidedAsTheyAreReachedCoverEveryRowOnceInOrder() {
        ExampleChunks chunks = new ExampleChunks();
        INDArray x = Nd4j.arange(33).castTo(DataType.FLOAT).reshape(11, 3);
        INDArray y = Nd4j.arange(100, 111).castTo(DataType.FLOAT).reshape(11, 1);
        Map<String, INDArray> feed = new LinkedHashMap<>();
        feed.put("x", x);
        feed.put("y", y);
        List<Long> sizes = new ArrayList<>();
        List<INDArray> rows = new ArrayList<>();
        chunks.forEach(feed, x, chunk -> {
            long n = ExampleChunks.examples(chunk.get("x"));
            assertEquals(n, chunk.get("y").size(0));
            sizes.add(n);
            rows.add(Nd4j.concat(1, chunk.get("x"), chunk.get("y")).dup());
            // an activation of CHUNK_VALUES / 4 values per example: chunks of 4 from then on
            chunks.saw(Nd4j.create(DataType.FLOAT, 1, ExampleChunks.CHUNK_VALUES / 4), 1);
        });
        assertEquals(List.of(1L, 4L, 4L, 2L), sizes);
        assertArrayEquals(Nd4j.concat(1, x, y).toFloatMatrix(), Nd4j.concat(0, rows.toArray(INDArray[]::new))
                .toFloatMatrix());

        List<INDArray[]> copies = chunks.copies(new INDArray[] {x, y});
        assertEquals(List.of(4L, 4L, 3L), copies.stream().map(c -> c[0].size(0)).toList());
        assertArrayEquals(x.toFloatMatrix(), Nd4j.concat(0, copies.stream().map(c -> c[0]).toArray(INDArray[]::new))
                .toFloatMatrix());
        copies.forEach(c -> assertNotSame(x, c[0]));
    }

    @Test
    void arraysWithoutTheBatchsExamplesKeepTheBatchWhole() {
        ExampleChunks chunks = new ExampleChunks();
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 2);
        INDArray mask = Nd4j.rand(DataType.FLOAT, 3, 2); // not six rows
        List<INDArray[]> copies = chunks.copies(new INDArray[] {x, mask});
        assertEquals(1, copies.size());
        assertArrayEquals(x.toFloatMatrix(), copies.get(0)[0].toFloatMatrix());
        assertNotSame(x, copies.get(0)[0]);
    }
}
