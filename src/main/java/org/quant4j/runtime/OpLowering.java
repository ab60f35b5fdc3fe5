package org.quant4j.runtime;

import org.nd4j.autodiff.samediff.internal.SameDiffOp;

/**
 * How one family of ops of the fake-quant graph becomes steps of an int8 plan (an int8 kernel, an f32 oneDNN
 * primitive, a quantize step, an alias, an fp32 island). The planner ({@link PlanBuilder}) visits the ops in
 * topological order and offers each to the lowerings of {@link Lowerings}, in their order: the first that takes the
 * op and lowers it wins. Lowerings hold no state (one instance serves every plan); what they read and write is the
 * plan being built.
 */
interface OpLowering {

    /**
     * Whether this family takes {@code op} here: its type, and what can be checked about its operands without
     * planning anything.
     */
    boolean takes(SameDiffOp op, PlanBuilder plan);

    /**
     * Emits {@code op}'s step(s) and its result values into {@code plan}, marking the ops a step absorbs (a kernel's
     * fused ReLU, the quantize ops of the point it writes) so that they are not visited. False when the op turns out
     * not to fit after all (a geometry or weight layout the kernel cannot take): the next lowering is asked. Values
     * it made on the way (an f32 copy of an operand) stay in the plan for later readers.
     */
    boolean lower(SameDiffOp op, PlanBuilder plan);
}
