package org.quant4j.runtime;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Runs one oneDNN primitive many times, from any number of threads, without allocating on the way.
 *
 * <p>A primitive made with {@link Primitives#threadSafe()} needs a scratchpad per concurrent execution, and every
 * execution needs memory objects around the caller's buffers. Making them per call (a scratchpad allocation, three
 * or four memory objects, an argument map) dominated the call of a small layer. So each runner keeps a pool of
 * execution contexts: a context holds its scratchpad, one memory object per per-call argument (pointed at the caller's buffer with
 * {@code set_data_handle}) and the argument map with the fixed arguments (weights, bias) already in it. A call
 * takes an idle context (or makes one), runs on the thread's stream, waits, and puts it back: there are never more
 * contexts than threads that ever ran the primitive at once. {@link #close()} frees them all; it must not run
 * while a call is under way.
 */
final class PrimitiveRunner implements AutoCloseable {

    private final primitive primitive;
    private final int[] argIds;
    private final memory.desc[] argDescs;
    private final Map<Integer, memory> fixed;
    private final memory.desc scratchDesc;
    private final long scratchBytes;
    private final Queue<Context> idle = new ConcurrentLinkedQueue<>();
    private final Queue<Context> all = new ConcurrentLinkedQueue<>();

    /**
     * @param primitive the primitive (made with {@link Primitives#threadSafe()} attributes)
     * @param pd        its primitive descriptor, for the scratchpad's size
     * @param argIds    the arguments given per call ({@code DNNL_ARG_SRC}, ...), in the order {@link #execute} takes
     *                  their buffers
     * @param argDescs  their memory descriptors
     * @param fixed     arguments that are the same for every call (weights, bias), by argument id
     */
    PrimitiveRunner(primitive primitive, primitive_desc_base pd, int[] argIds, memory.desc[] argDescs,
            Map<Integer, memory> fixed) {
        if (argIds.length != argDescs.length) {
            throw new IllegalArgumentException(argIds.length + " argument ids but " + argDescs.length + " descriptors");
        }
        this.primitive = primitive;
        this.argIds = argIds.clone();
        this.argDescs = argDescs.clone();
        this.fixed = Map.copyOf(fixed);
        this.scratchDesc = pd.scratchpad_desc();
        this.scratchBytes = scratchDesc.get_size();
    }

    /** Runs the primitive on {@code buffers} (one per per-call argument, in the constructor's order) and waits. */
    void execute(Pointer... buffers) {
        if (buffers.length != argIds.length) {
            throw new IllegalArgumentException("expected " + argIds.length + " buffers, got " + buffers.length);
        }
        Context c = idle.poll();
        if (c == null) {
            c = new Context(buffers);
            all.add(c);
        } else {
            c.bind(buffers);
        }
        try {
            primitive.execute(Dnnl.stream(), c.args);
            Dnnl.stream()._wait();
        } finally {
            idle.offer(c);
        }
    }

    @Override
    public void close() {
        Context c;
        while ((c = all.poll()) != null) {
            c.close();
        }
        idle.clear();
    }

    /** What one execution needs besides the primitive: memory objects, argument map, scratchpad. */
    private final class Context implements AutoCloseable {
        private final memory[] memories;
        private final IntMemoryMap args = new IntMemoryMap();
        private final BytePointer scratch;
        private final memory scratchMemory;

        Context(Pointer[] buffers) {
            var engine = Dnnl.engine();
            memories = new memory[argIds.length];
            for (int i = 0; i < argIds.length; i++) {
                memories[i] = new memory(argDescs[i], engine, buffers[i]);
                args.put(argIds[i], memories[i]);
            }
            fixed.forEach(args::put);
            if (scratchBytes > 0) {
                scratch = AlignedMemory.bytes(scratchBytes);
                scratchMemory = new memory(scratchDesc, engine, scratch);
                args.put(dnnl.DNNL_ARG_SCRATCHPAD, scratchMemory);
            } else {
                scratch = null;
                scratchMemory = null;
            }
        }

        void bind(Pointer[] buffers) {
            for (int i = 0; i < memories.length; i++) {
                memories[i].set_data_handle(buffers[i]);
            }
        }

        @Override
        public void close() {
            args.close();
            for (memory m : memories) {
                m.close();
            }
            if (scratchMemory != null) {
                scratchMemory.close();
                scratch.close();
            }
        }
    }
}
