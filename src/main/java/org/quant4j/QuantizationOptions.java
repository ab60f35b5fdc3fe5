package org.quant4j;

import java.util.LinkedHashSet;
import java.util.Set;
import org.quant4j.range.RangeSolver;

/**
 * The options of {@link Quantizer#quantize}: which range method, how many bits, per channel or per tensor, how
 * much calibration data, which layers stay in fp32. Immutable plain data; build with {@link #builder()}. What depends
 * on the machine (the weight bits its int8 kernels take exactly) is decided when {@code quantize} runs
 * ({@link #resolved}), and a quantized model's {@code options()} are the resolved ones.
 *
 * @param activationRangeMethod the range method for activations ({@link RangeMethod})
 * @param weightRangeMethod     the range method for weights (per output channel, symmetric)
 * @param activationBits        bits of activations, 2..8
 * @param weightBits            bits of weights, 2..8, or {@link #AUTO_WEIGHT_BITS} (the default): 8, or 7 where the
 *                              CPU's int8 kernels would saturate 8-bit products (no VNNI), decided when quantizing
 * @param activationGranularity per-point (default: per-channel or per-tensor, chosen per activation point),
 *                              per-channel or per-tensor activation ranges
 * @param weightGranularity     per-output-channel (default) or per-tensor weight ranges
 * @param calibrationBatches    at most this many batches are read from the calibration data
 * @param reportBatches         the first this-many calibration batches also measure the per-layer SQNR
 * @param keepFp32              layers (by DL4J layer name, or SameDiff op name) left in fp32
 * @param biasCorrection        subtract each layer's output shift, measured on calibration batches, from its bias;
 *                              null (the default): on at every bit width (docs/ACCURACY.md: at 8 bits it holds
 *                              two undertrained networks of the second set within 0.10 points, which lose up to
 *                              0.68 without it)
 * @param sequentialPasses      how many times the activations are observed again on the quantized network and
 *                              their ranges solved anew (0: ranges from the fp32 network alone); see
 *                              {@link Calibration#quantize}
 * @param keepUnsupportedLayersFp32 a network whose layers the converter does not support (e.g. an LSTM) is
 *                              quantized in parts: the unsupported layers run in DL4J, in fp32, between the
 *                              quantized parts (default off: such a network is refused, naming the layer)
 * @param inputNormalization    an input normalization built into the quantized graph at its input (null: none, the
 *                              default); see {@link Builder#inputNormalizer}
 * @param crossLayerEqualization before calibrating, rescale the channels of consecutive weighted layers so that
 *                              their weight ranges even out (cross-layer equalization, default off); read when
 *                              calibrating, see {@link Calibration#quantize}
 * @param activationZeroPoints  asymmetric activations with zero points: off (the default; also for null, as in files
 *                              saved before the option), per point (where they lower the measured consumer error)
 *                              or on ({@link ZeroPoints})
 * @param adaroundIterations    AdaRound: learn each weight's rounding (up or down) on the calibration's held batches
 *                              with this many iterations per layer (0, the default: round to nearest)
 * @param observerOps           calibrate through observer ops in the graph ({@code graph.ObserverPass}): each batch
 *                              returns per-channel summaries, not the observed tensors; the same statistics. Default
 *                              off (docs/PERFORMANCE.md: on the CPU the Java observers are faster); read when
 *                              calibrating
 */
public record QuantizationOptions(RangeMethod activationRangeMethod, RangeMethod weightRangeMethod,
        int activationBits, int weightBits, Granularity activationGranularity, Granularity weightGranularity,
        int calibrationBatches, int reportBatches, Set<String> keepFp32, Boolean biasCorrection, int sequentialPasses,
        boolean keepUnsupportedLayersFp32, InputNormalization inputNormalization, boolean crossLayerEqualization,
        ZeroPoints activationZeroPoints, int adaroundIterations, boolean observerOps) {

    /**
     * The default range method: the fitted-PDF method, chosen by the accuracy study (docs/ACCURACY.md): W8A8 at fp32
     * accuracy, and at 4 bits the best or close to the best of the methods compared.
     */
    public static final RangeMethod DEFAULT_METHOD = RangeMethod.FITTED_PDF;

    /** Weight bits decided when quantizing: 8, or 7 where the CPU's int8 kernels would saturate 8-bit products. */
    public static final int AUTO_WEIGHT_BITS = 0;

    /** The most AdaRound iterations per layer the options take (the paper's 10,000 x 2). */
    public static final int MAX_ADAROUND_ITERATIONS = 20_000;

    /**
     * AdaRound's iterations per layer where none are named (the command line's {@code --adaround}, the study's
     * {@code +ada}): a tenth of the paper's 10,000, which the full-batch moments make enough here (docs/ACCURACY.md).
     */
    public static final int DEFAULT_ADAROUND_ITERATIONS = 1000;

    public QuantizationOptions {
        java.util.Objects.requireNonNull(activationRangeMethod, "activationRangeMethod");
        java.util.Objects.requireNonNull(weightRangeMethod, "weightRangeMethod");
        checkBits("activation", activationBits);
        if (weightBits != AUTO_WEIGHT_BITS) {
            checkBits("weight", weightBits);
        }
        if (weightGranularity == Granularity.PER_POINT) {
            throw new IllegalArgumentException("per-point granularity is for activations; weights are per-channel or"
                    + " per-tensor");
        }
        if (calibrationBatches < 1) {
            throw new IllegalArgumentException("calibrationBatches must be at least 1, got " + calibrationBatches);
        }
        if (reportBatches < 0) {
            throw new IllegalArgumentException("reportBatches must be at least 0, got " + reportBatches);
        }
        if (adaroundIterations < 0 || adaroundIterations > MAX_ADAROUND_ITERATIONS) {
            throw new IllegalArgumentException("adaround iterations must be in 0.." + MAX_ADAROUND_ITERATIONS
                    + ", got " + adaroundIterations);
        }
        if (sequentialPasses < 0) {
            throw new IllegalArgumentException("sequentialPasses must be at least 0, got " + sequentialPasses);
        }
        activationZeroPoints = activationZeroPoints == null ? ZeroPoints.OFF : activationZeroPoints;
        keepFp32 = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(keepFp32)); // sorted: a stable order in saved files
    }

    /**
     * These options with what was left to the machine decided: {@link #AUTO_WEIGHT_BITS} becomes {@code
     * machineWeightBits} (the most the CPU's int8 kernels take exactly), a default bias correction on.
     */
    public QuantizationOptions resolved(int machineWeightBits) {
        Builder b = toBuilder();
        b.weightBits = weightBits == AUTO_WEIGHT_BITS ? machineWeightBits : weightBits;
        b.biasCorrection = biasCorrection == null || biasCorrection;
        return b.build();
    }

    /** These options with {@code layers} as the layers kept in fp32 (for a part of a network). */
    public QuantizationOptions withKeepFp32(Set<String> layers) {
        Builder b = toBuilder();
        b.keepFp32.clear();
        b.keepFp32.addAll(layers);
        return b.build();
    }

    /** These options with cross-layer equalization on or off (as the calibration they are applied to was made). */
    public QuantizationOptions withCrossLayerEqualization(boolean on) {
        return toBuilder().crossLayerEqualization(on).build();
    }

    /** These options with {@code granularity} for activations (the per-point check's per-channel candidate). */
    public QuantizationOptions withActivationGranularity(Granularity granularity) {
        Builder b = toBuilder();
        b.activationGranularity = granularity;
        return b.build();
    }

    /** These options with {@code normalization} built in at the input (null: none). */
    public QuantizationOptions withInputNormalization(InputNormalization normalization) {
        Builder b = toBuilder();
        b.inputNormalization = normalization;
        return b.build();
    }

    /** A builder holding these options, every one as it is here (unresolved ones stay unresolved). */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.activationRangeMethod = activationRangeMethod;
        b.weightRangeMethod = weightRangeMethod;
        b.activationBits = activationBits;
        b.weightBits = weightBits;
        b.activationGranularity = activationGranularity;
        b.weightGranularity = weightGranularity;
        b.calibrationBatches = calibrationBatches;
        b.reportBatches = reportBatches;
        b.keepFp32.addAll(keepFp32);
        b.biasCorrection = biasCorrection;
        b.activationZeroPoints = activationZeroPoints;
        b.sequentialPasses = sequentialPasses;
        b.keepUnsupportedLayersFp32 = keepUnsupportedLayersFp32;
        b.inputNormalization = inputNormalization;
        b.crossLayerEqualization = crossLayerEqualization;
        b.adaroundIterations = adaroundIterations;
        b.observerOps = observerOps;
        return b;
    }

    private static void checkBits(String what, int bits) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException(what + " bits must be in 2..8, got " + bits);
        }
    }

    /**
     * The defaults: 8-bit activations, 8-bit weights (7-bit on CPUs without VNNI, where 8-bit int8 kernels would
     * saturate; decided when quantizing), per-point activations and per-channel weights, the fitted-PDF method's
     * ranges, 32 calibration batches.
     */
    public static QuantizationOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The 4-bit preset: 4-bit weights whose ranges minimize their squared error ({@link RangeMethod#MSE}, as the
     * AdaRound paper sets them) and whose rounding is learned (AdaRound, {@link #DEFAULT_ADAROUND_ITERATIONS}
     * iterations per layer); 8-bit activations with the default fitted-PDF ranges; the other defaults (per-point
     * activations, per-channel weights, bias correction). Measured over three calibration draws in
     * docs/ACCURACY.md ("The 4-bit preset"); any setting can be changed on the builder it returns, e.g.
     * {@code fourBit().activationBits(4)}.
     */
    public static Builder fourBit() {
        return builder().weightBits(4).weightRangeMethod(RangeMethod.MSE).adaround(DEFAULT_ADAROUND_ITERATIONS);
    }

    /** Builds {@link QuantizationOptions}; every setter validates on {@link #build()}. */
    public static final class Builder {
        private RangeMethod activationRangeMethod = DEFAULT_METHOD;
        private RangeMethod weightRangeMethod = DEFAULT_METHOD;
        private int activationBits = 8;
        private int weightBits = AUTO_WEIGHT_BITS;
        private Granularity activationGranularity = Granularity.PER_POINT;
        private Granularity weightGranularity = Granularity.PER_CHANNEL;
        private int calibrationBatches = 32;
        private int reportBatches = 4;
        private final Set<String> keepFp32 = new LinkedHashSet<>();
        private Boolean biasCorrection; // null: the default, on
        private ZeroPoints activationZeroPoints = ZeroPoints.OFF;
        private int sequentialPasses;
        private boolean keepUnsupportedLayersFp32;
        private InputNormalization inputNormalization;
        private boolean crossLayerEqualization;
        private int adaroundIterations;
        private boolean observerOps;

        private Builder() {
        }

        /** The range method of activations and weights alike. */
        public Builder rangeMethod(RangeMethod method) {
            this.activationRangeMethod = method;
            this.weightRangeMethod = method;
            return this;
        }

        /** The range method of activations and weights alike, by name ({@link RangeMethod#named}). */
        public Builder rangeMethod(String name) {
            return rangeMethod(RangeMethod.named(name));
        }

        /** A user's own solver for activations and weights alike ({@link RangeMethod#of}). */
        public Builder rangeSolver(RangeSolver solver) {
            return rangeMethod(RangeMethod.of(solver));
        }

        public Builder activationRangeMethod(RangeMethod method) {
            this.activationRangeMethod = method;
            return this;
        }

        public Builder activationRangeMethod(String name) {
            return activationRangeMethod(RangeMethod.named(name));
        }

        public Builder weightRangeMethod(RangeMethod method) {
            this.weightRangeMethod = method;
            return this;
        }

        public Builder weightRangeMethod(String name) {
            return weightRangeMethod(RangeMethod.named(name));
        }

        public Builder activationBits(int bits) {
            this.activationBits = bits;
            return this;
        }

        /** Weight bits, 2..8; {@link #AUTO_WEIGHT_BITS} (the default) decides them when quantizing. */
        public Builder weightBits(int bits) {
            this.weightBits = bits;
            return this;
        }

        /**
         * The granularity of activations and weights alike; per-point applies to activations, with per-channel
         * weights.
         */
        public Builder granularity(Granularity granularity) {
            this.activationGranularity = granularity;
            this.weightGranularity = granularity == Granularity.PER_POINT ? Granularity.PER_CHANNEL : granularity;
            return this;
        }

        /**
         * Per-channel, per-tensor, or per-point (the default) activation ranges. Per-point: each activation point
         * gets per-channel or per-tensor scales, whichever gives its consumers the smaller expected squared output
         * error, {@code sum over weights of (W~ - W)^2 E[x_c^2] + W^2 E[(x~_c - x_c)^2]} (the input's error: its
         * channel's rounding and clipping at the candidate's range), with the weights solved for
         * each choice. Per-channel activation scales fold into the consumers' weights (one scale per input channel
         * of the weight), and where a consumer's output channel mixes input channels of very different ranges the
         * folded weights quantize worse than the activations gain (measured in docs/ACCURACY.md).
         */
        public Builder activationGranularity(Granularity granularity) {
            this.activationGranularity = granularity;
            return this;
        }

        public Builder weightGranularity(Granularity granularity) {
            this.weightGranularity = granularity;
            return this;
        }

        public Builder calibrationBatches(int batches) {
            this.calibrationBatches = batches;
            return this;
        }

        public Builder reportBatches(int batches) {
            this.reportBatches = batches;
            return this;
        }

        /** Layers (DL4J layer names, or SameDiff op names) to leave in fp32. */
        public Builder keepFp32(String... layers) {
            keepFp32.addAll(Set.of(layers));
            return this;
        }

        /**
         * Bias correction: each quantized layer's mean output shift, measured on the calibration's held batches,
         * subtracted from its bias (default: on; at W4A4 the MobileNet-style CNN gains 10 points, at W8A8 the
         * separable-convolution network of the second set 0.68 on the mean of four calibration draws).
         */
        public Builder biasCorrection(boolean on) {
            this.biasCorrection = on;
            return this;
        }

        /**
         * Sequential calibration (default 0): after solving the ranges from the fp32 network, observe the
         * activations {@code passes} more times on the network quantized with the ranges so far, solving them
         * anew each time, so that each range fits the activations the quantized network really produces.
         */
        public Builder sequentialPasses(int passes) {
            this.sequentialPasses = passes;
            return this;
        }

        /**
         * Keep the layers the converter does not support (e.g. an LSTM) in fp32 instead of refusing the network
         * (default off). A MultiLayerNetwork is then quantized in parts: each run of supported layers becomes a
         * quantized graph of its own (calibrated on the fp32 values that reach it), each run of unsupported layers
         * runs in DL4J, in fp32, on a copy of its parameters; {@link QuantizedModel#fp32Layers()} lists them. Such
         * a model runs and reports, but is not saved ({@link QuantizedModel#save} refuses it). A ComputationGraph
         * likewise, where exactly one value flows past each run of unsupported layers (a chain of layer vertices),
         * with one input and one output; other graphs are refused, naming the vertex where the cut would fall.
         */
        public Builder keepUnsupportedLayersFp32(boolean on) {
            this.keepUnsupportedLayersFp32 = on;
            return this;
        }

        /**
         * The DL4J normalizer the network was trained with, built into the quantized model at its input
         * ({@link InputNormalization#of}: NormalizerStandardize, NormalizerMinMaxScaler, ImagePreProcessingScaler;
         * any other, or one that also normalizes labels, is refused here with a {@link QuantizationException}
         * naming its class). The converted graph gets {@code (x - offset) * multiplier} before its first layer, so
         * calibration, the fake-quant graph, the int8 plan and a saved model all see it: <b>the calibration data and
         * every input to {@link QuantizedModel#output} are then raw</b>, as before the normalizer. A calibration
         * iterator whose pre-processor (DL4J's {@code setPreProcessor}) is a normalizer would normalize twice and is
         * refused by {@link Quantizer} (remove the pre-processor, or leave this option unset and normalize
         * yourself); other pre-processors are left alone. Null: none (the default).
         */
        public Builder inputNormalizer(org.nd4j.linalg.dataset.api.preprocessor.Normalizer<?> normalizer) {
            this.inputNormalization = normalizer == null ? null : InputNormalization.of(normalizer);
            return this;
        }

        /** An input normalization given as its affine map (null: none). */
        public Builder inputNormalization(InputNormalization normalization) {
            this.inputNormalization = normalization;
            return this;
        }

        /**
         * Cross-layer equalization (Nagel et al., 2019; default off): before calibrating, wherever a convolution,
         * depthwise convolution or dense layer feeds another only through ReLU, leaky ReLU, identity or pooling,
         * output channel c of the first is divided by {@code s_c} and input channel c of the second multiplied by
         * it, {@code s_c = sqrt(r1_c / r2_c)} of the two channels' weight ranges, so that both get the range
         * {@code sqrt(r1_c r2_c)}. The fp32 network computes the same; its weights' channel ranges are more even,
         * which per-tensor weights need most (measured in docs/ACCURACY.md).
         */
        public Builder crossLayerEqualization(boolean on) {
            this.crossLayerEqualization = on;
            return this;
        }

        /**
         * Zero points for activations ({@link ZeroPoints}; default {@link ZeroPoints#OFF}): a two-sided activation
         * whose values sit off centre (after tanh, leaky ReLU, ELU, a BatchNorm after ReLU) wastes levels of the
         * symmetric grid on the side it barely reaches; the asymmetric grid {@code x = s (q - z)} spans exactly its
         * clip range {@code [lo, hi]} (widened to hold 0, so that 0 stays exact).
         */
        public Builder activationZeroPoints(ZeroPoints zeroPoints) {
            this.activationZeroPoints = java.util.Objects.requireNonNull(zeroPoints, "zeroPoints");
            return this;
        }

        /**
         * AdaRound (Nagel et al., 2020; default 0, off): after the ranges are solved, each quantized convolution,
         * depthwise convolution and dense layer learns, in graph order, whether each weight rounds down or up, so
         * that its output on the calibration's held batches (its input from the layers before it, already
         * quantized) stays closest to fp32's; {@code iterations} Adam steps per layer on the rectified-sigmoid
         * relaxation, its regularizer annealed. The scales are unchanged: only the integer weights differ. Costs
         * time (measured in docs/ACCURACY.md); it helps at 4-bit weights.
         */
        public Builder adaround(int iterations) {
            this.adaroundIterations = iterations;
            return this;
        }

        /**
         * Calibrate through observer ops added to the graph ({@code graph.ObserverPass}, default off): every
         * calibration batch returns per-channel summaries (extremes, central sums to the 6th, zeros, histograms)
         * instead of the observed tensors. The statistics are the Java observers' (counts and histograms exactly,
         * moments to rounding); the gain is on a device, where only the summaries cross to the host.
         */
        public Builder observerOps(boolean on) {
            this.observerOps = on;
            return this;
        }

        public QuantizationOptions build() {
            return new QuantizationOptions(activationRangeMethod, weightRangeMethod, activationBits, weightBits,
                    activationGranularity, weightGranularity, calibrationBatches, reportBatches, keepFp32,
                    biasCorrection, sequentialPasses, keepUnsupportedLayersFp32, inputNormalization,
                    crossLayerEqualization, activationZeroPoints, adaroundIterations, observerOps);
        }
    }
}
