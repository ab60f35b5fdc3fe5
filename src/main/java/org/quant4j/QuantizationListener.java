package org.quant4j;

/**
 * Told when each phase of a quantization starts and finishes, on the thread that quantizes (installed for a call with
 * {@link QuantizationPhases#listening}): for progress displays and for measuring what each phase costs. Phases nest
 * ({@link Phase#POINT_CHOICE} runs inside {@link Phase#SOLVE}); a phase may run several times in one call (once per
 * part of a model quantized in parts, once per sequential pass). A listener that throws fails the call.
 */
public interface QuantizationListener {

    /** The phases of {@code Quantizer.quantize} and of a quantized model's first calls, in their usual order. */
    enum Phase {
        /** DL4J network to SameDiff graph, input normalization built in, BatchNorms folded, layers equalized. */
        CONVERSION,
        /** The calibration batches run through the fp32 graph, every point reduced to per-channel statistics. */
        CALIBRATION,
        /** Clip ranges and scales of every point and weight solved (the per-point choice included). */
        SOLVE,
        /** The per-point granularity and zero-point choice, measured on the held batches (inside SOLVE). */
        POINT_CHOICE,
        /** The per-point choices checked as a whole against per-channel scales everywhere. */
        PER_CHANNEL_CHECK,
        /** A copy of the fp32 graph rewritten with fake-quant ops and integer weights. */
        REWRITE,
        /** Learned rounding of the weights (option adaround). */
        ADAROUND,
        /** Bias correction measured on the held batches. */
        BIAS_CORRECTION,
        /** Per-layer SQNR of the quantized graph against fp32 on the report batches. */
        REPORT,
        /** The int8 plan built for an input shape (at a quantized model's first call with that shape). */
        PLAN_BUILD,
        /** A quantized model written out. */
        SAVE
    }

    /** {@code phase} starts. */
    default void started(Phase phase) {
    }

    /** {@code phase} finished (normally or by an exception) after {@code nanos} nanoseconds of wall time. */
    void finished(Phase phase, long nanos);
}
