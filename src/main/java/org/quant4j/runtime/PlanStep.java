package org.quant4j.runtime;

/**
 * One step of an {@link Int8Plan}: reads slots, writes slots. Slots hold a call's buffers (JavaCPP pointers) or
 * arrays, one per {@link Value}; a step takes the buffers it writes from the call's {@link PlanBuffers}, and the plan
 * gives a buffer back after the last step reading it.
 */
abstract class PlanStep implements AutoCloseable {

    /** What the step runs, e.g. {@code conv2d c1 -> ...}: its first word is the profile's kind. */
    final String label;
    /** The slots the step reads. */
    final int[] reads;

    PlanStep(String label, int... reads) {
        this.label = label;
        this.reads = reads;
    }

    abstract void run(Object[] slots, PlanBuffers buffers);

    /**
     * Runs the step; {@code mayConsume}: no later step nor the result reads the buffer of {@link #consumable},
     * so the step may take it over (write into it) instead of copying it.
     */
    void run(Object[] slots, PlanBuffers buffers, boolean mayConsume) {
        run(slots, buffers);
    }

    /**
     * The slots to which this step writes ND4J arrays of its own making (a conversion's, an island's results), which
     * the plan may release once no later step reads them and no other slot or input holds them.
     */
    int[] madeArrays() {
        return new int[0];
    }

    /** The slot whose buffer this step would take over when allowed, or -1. */
    int consumable() {
        return -1;
    }

    @Override
    public void close() {
    }
}
