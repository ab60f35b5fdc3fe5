package org.quant4j.runtime;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.BytePointer;

/** What the integer kernels share: requantization attributes and weights reordered once into a kernel's layout. */
final class Primitives {

    private Primitives() {
    }

    /**
     * Attributes every kernel starts from: a scratchpad the caller provides per execution. With oneDNN's default
     * (library-owned) scratchpad, one primitive run by several threads at once shares it, and results differ
     * (seen here: 6 of 800 concurrent calls). {@link PrimitiveRunner} keeps the scratchpads.
     */
    static primitive_attr threadSafe() {
        primitive_attr attr = new primitive_attr();
        attr.set_scratchpad_mode(dnnl.scratchpad_mode.user);
        return attr;
    }

    /** Output scales (per output channel, mask 1 << 1, or one for all) and an optional ReLU after them. */
    static primitive_attr requantization(float[] outputScales, boolean relu) {
        return requantization(outputScales, false, relu);
    }

    /**
     * Output scales, then optionally oneDNN's sum post-op (the destination's previous content added, scale 1: a
     * residual add fused into the kernel), then an optional ReLU:
     * {@code dst = act(scale[o] * (acc + bias[o]) + (sum ? dst_old : 0))}, all in f32 before the store.
     */
    static primitive_attr requantization(float[] outputScales, boolean sum, boolean relu) {
        return requantization(outputScales, sum, relu, null);
    }

    /**
     * As {@link #requantization(float[], boolean, boolean)}, then, where {@code clip} ({@code {qmin, qmax}}) is
     * given, the clip to a grid narrower than the destination type's range (a signed grid's -127, fewer than 8
     * bits): {@code clamp(v, qmin, qmax)} before the store's rounding, which equals the fake-quant graph's
     * {@code clamp(rint(v), qmin, qmax)} as the bounds are integers.
     */
    static primitive_attr requantization(float[] outputScales, boolean sum, boolean relu, int[] clip) {
        primitive_attr attr = threadSafe();
        attr.set_output_scales(outputScales.length == 1 ? 0 : 1 << 1, outputScales);
        if (sum || relu || clip != null) {
            post_ops ops = new post_ops();
            if (sum) {
                ops.append_sum(); // scale 1, no zero point, the destination's type
            }
            if (relu) {
                ops.append_eltwise(1.0f, dnnl.algorithm.eltwise_relu, 0f, 0f);
            }
            if (clip != null) {
                ops.append_eltwise(1.0f, dnnl.algorithm.eltwise_clip, clip[0], clip[1]);
            }
            attr.set_post_ops(ops);
        }
        return attr;
    }

    /** Signed 8-bit weights in their plain layout ({@code plain}), reordered into {@code target}'s layout. */
    record Weights(memory memory, BytePointer buffer) implements AutoCloseable {
        static Weights reordered(byte[] values, memory.desc plain, memory.desc target) {
            var engine = Dnnl.engine();
            try (BytePointer userBuffer = new BytePointer(values.length)) {
                userBuffer.put(values);
                memory user = new memory(plain, engine, userBuffer);
                BytePointer buffer = AlignedMemory.bytes(target.get_size());
                memory reordered = new memory(target, engine, buffer);
                new reorder(new reorder.primitive_desc(user, reordered)).execute(Dnnl.stream(),
                        new IntMemoryMap().put(dnnl.DNNL_ARG_FROM, user).put(dnnl.DNNL_ARG_TO, reordered));
                Dnnl.stream()._wait();
                user.close();
                return new Weights(reordered, buffer);
            }
        }

        @Override
        public void close() {
            memory.close();
            buffer.close();
        }
    }

    /** f32 biases (in accumulator units), one per output channel, kept reachable for the kernel's lifetime. */
    record Bias(memory memory, org.bytedeco.javacpp.FloatPointer buffer) implements AutoCloseable {
        /** The biases as oneDNN memory, or null when there are none. */
        static Bias of(float[] values, memory.desc desc, long outputs) {
            if (values == null) {
                return null;
            }
            if (values.length != outputs) {
                throw new IllegalArgumentException("expected " + outputs + " biases, got " + values.length);
            }
            org.bytedeco.javacpp.FloatPointer buffer = AlignedMemory.floats(values);
            return new Bias(new memory(desc, Dnnl.engine(), buffer), buffer);
        }

        @Override
        public void close() {
            memory.close();
            buffer.close();
        }
    }
}
