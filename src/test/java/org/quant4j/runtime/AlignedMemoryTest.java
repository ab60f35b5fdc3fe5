package org.quant4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;

/**
 * Native memory of the int8 runtime: every buffer 64-byte aligned (weights, biases, the plan's activations), and a
 * plan's buffers reused from call to call.
 */
class AlignedMemoryTest {

    /** Sizes that are not multiples of 64, interleaved so that plain allocations would land anywhere. */
    @Test
    void everyAllocationIsAlignedAndHoldsItsBytes() {
        List<Pointer> kept = new ArrayList<>();
        try {
            for (int i = 0; i < 500; i++) {
                long bytes = 1 + (i * 37L) % 5000;
                BytePointer b = AlignedMemory.bytes(bytes);
                kept.add(b);
                assertEquals(0, b.address() % AlignedMemory.ALIGNMENT, bytes + " bytes at " + b.address());
                assertEquals(bytes, b.capacity());
                byte[] values = new byte[(int) bytes];
                for (int j = 0; j < values.length; j++) {
                    values[j] = (byte) (j * 7 + i);
                }
                b.put(values);
                byte[] back = new byte[values.length];
                b.get(back);
                assertArrayEquals(values, back);
                FloatPointer f = AlignedMemory.floats(new float[] {i, 1.5f, -2f});
                kept.add(f);
                assertTrue(AlignedMemory.aligned(f), "floats at " + f.address());
                assertEquals(-2f, f.get(2));
            }
        } finally {
            kept.forEach(Pointer::close);
        }
    }

    @Test
    void kernelWeightsAndBiasesAreAligned() {
        for (int in : new int[] {3, 17, 2048}) {
            byte[] w = new byte[5 * in];
            try (Int8Dense dense = new Int8Dense(8, in, 5, ElementType.U8, ElementType.F32, w, new float[5],
                    new float[] {1f}, false)) {
                assertTrue(dense.buffersAligned(), "dense " + in + " -> 5");
            }
        }
        Int8Conv2d.Geometry g = new Int8Conv2d.Geometry(1, 16, 6, 6, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        try (Int8Conv2d conv = new Int8Conv2d(g, ElementType.U8, ElementType.U8, new byte[24 * 16 * 9],
                new float[24], new float[] {1f}, true)) {
            assertTrue(conv.buffersAligned());
        }
    }

    @Test
    void planBuffersAreAlignedAndReused() {
        try (PlanBuffers buffers = new PlanBuffers()) {
            BytePointer a = buffers.take(100);
            FloatPointer f = buffers.takeFloats(25);
            assertTrue(AlignedMemory.aligned(a) && AlignedMemory.aligned(f));
            assertNotEquals(a.address(), f.address());
            buffers.give(a);
            buffers.give(a); // given twice: kept once
            buffers.give(f); // a view over a buffer of the set: its buffer is kept
            Set<Long> again = new HashSet<>();
            again.add(buffers.take(100).address());
            again.add(buffers.take(100).address());
            assertEquals(Set.of(a.address(), f.address()), again);
            long held = buffers.bytes();
            BytePointer third = buffers.take(100);
            assertTrue(AlignedMemory.aligned(third));
            assertEquals(held + 100, buffers.bytes(), "a third 100-byte buffer is new");
        }
    }

    /** A warm plan allocates nothing: its buffer set's size stays the same over calls, and the results too. */
    @Test
    void aWarmPlanReusesItsBuffers() {
        long[] image = {4, 784};
        int weightBits = Dnnl.exactInt8Products() ? 8 : 7;
        // residual adds fused into the kernels: buffers taken over by a kernel go back to the set too
        QuantizedModel model = Quantizer.quantize(TestNetworks.resNetStyle(),
                TestNetworks.randomIterator(32, 784, 10, 4, 97),
                QuantizationOptions.builder().weightBits(weightBits).build());
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.FLOAT, image);
        INDArray first = model.outputs(Execution.INT8, x)[0];
        long[] after1 = model.int8Network().planBuffers(image);
        for (int i = 0; i < 5; i++) {
            assertEquals(first, model.outputs(Execution.INT8, x)[0]);
        }
        long[] after6 = model.int8Network().planBuffers(image);
        assertTrue(after1[0] > 0, "the plan holds no buffers");
        assertArrayEquals(after1, after6, "bytes and sets after 1 and 6 calls");
        assertEquals(1, after6[1]);
    }
}
