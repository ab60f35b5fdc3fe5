package org.quant4j;

import java.util.Iterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.calib.PeekedBatches;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.convert.UnsupportedLayerException;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.SameDiffGraphs;
import org.quant4j.quantize.PartwiseQuantization;
import org.quant4j.quantize.QuantizationPipeline;

/**
 * The one call: {@code QuantizedModel q = Quantizer.quantize(model, calibrationData)}.
 *
 * <p>The pipeline: convert the network to SameDiff (DL4J networks) or copy it (SameDiff graphs); find the ops that
 * run quantized (convolutions, dense layers); observe their activation inputs on the calibration data, per
 * channel, in one streaming pass; solve a clip range per channel with the chosen range method; quantize the
 * weights per output channel; rewrite a copy of the graph with fake-quant ops; measure every layer's SQNR
 * against fp32. The user's model is only read, never changed.
 *
 * <p>With an input normalizer ({@link QuantizationOptions.Builder#inputNormalizer}) the calibration data is raw, as
 * before the normalizer, and so are the inputs of the quantized model's {@code output}; an iterator whose
 * pre-processor is a normalizer is then refused (it would normalize twice).
 */
public final class Quantizer {

    private Quantizer() {
    }

    public static QuantizedModel quantize(MultiLayerNetwork net, DataSetIterator calibration) {
        return quantize(net, calibration, QuantizationOptions.defaults());
    }

    /**
     * Quantizes {@code net}. With {@link QuantizationOptions#keepUnsupportedLayersFp32} a network with layers the
     * converter does not support is quantized in parts around them ({@link PartwiseQuantization}); without it, such a
     * network is refused with an error naming the layer's index, name and type.
     */
    public static QuantizedModel quantize(MultiLayerNetwork net, DataSetIterator calibration,
            QuantizationOptions options) {
        requireRaw(calibration.getPreProcessor(), options);
        if (options.keepUnsupportedLayersFp32() && PartwiseQuantization.hasUnsupportedLayers(net)) {
            return QuantizedModel.of(PartwiseQuantization.quantize(net, FeatureBatches.of(calibration), options));
        }
        Converted converted = convert(net, calibration);
        return quantize(converted.graph(), converted.batches(), options);
    }

    /** A converted network and the calibration batches to feed it. */
    private record Converted(ModelGraph graph, Iterator<INDArray[]> batches) {
    }

    /**
     * The graph of {@code net}, its recurrent layers unrolled over the sequence length of the first calibration
     * batch; when that batch carries a features mask, the graph takes a mask too (every batch then feeds one: ones
     * where a batch has none).
     */
    private static Converted convert(MultiLayerNetwork net, DataSetIterator calibration) {
        PeekedBatches batches = PeekedBatches.of(FeatureBatches.withMasks(calibration));
        INDArray[] first = batches.first();
        long steps = first == null ? -1 : Dl4jConverter.sequenceLength(net, first[0]);
        boolean masked = steps > 0 && first[1] != null;
        ModelGraph graph = QuantizationPhases.timed(QuantizationListener.Phase.CONVERSION,
                () -> Dl4jConverter.convert(net, steps, masked));
        return new Converted(graph, FeatureBatches.masked(batches, masked, steps));
    }

    public static QuantizedModel quantize(ComputationGraph net, DataSetIterator calibration) {
        return quantize(net, calibration, QuantizationOptions.defaults());
    }

    /**
     * Quantizes {@code net}. With {@link QuantizationOptions#keepUnsupportedLayersFp32} a graph with layers the
     * converter does not support is quantized in parts around them where one value flows past them (see
     * {@link PartwiseQuantization}); otherwise such a graph is refused with an error naming the vertex.
     */
    public static QuantizedModel quantize(ComputationGraph net, DataSetIterator calibration,
            QuantizationOptions options) {
        requireRaw(calibration.getPreProcessor(), options);
        if (options.keepUnsupportedLayersFp32() && PartwiseQuantization.hasUnsupportedLayers(net)) {
            return QuantizedModel.of(PartwiseQuantization.quantize(net, FeatureBatches.of(calibration), options));
        }
        PeekedBatches batches = PeekedBatches.of(FeatureBatches.of(calibration));
        return quantize(convert(net, batches, options), batches, options);
    }

    public static QuantizedModel quantize(ComputationGraph net, MultiDataSetIterator calibration,
            QuantizationOptions options) {
        requireRaw(calibration.getPreProcessor(), options);
        if (options.keepUnsupportedLayersFp32() && PartwiseQuantization.hasUnsupportedLayers(net)) {
            return QuantizedModel.of(PartwiseQuantization.quantize(net, FeatureBatches.of(calibration), options));
        }
        PeekedBatches batches = PeekedBatches.of(FeatureBatches.of(calibration));
        return quantize(convert(net, batches, options), batches, options);
    }

    /**
     * The graph of {@code net}, recurrent layers unrolled over the sequence length of the first calibration batch;
     * an unsupported layer's error says that keeping it in fp32 is for MultiLayerNetworks.
     */
    private static ModelGraph convert(ComputationGraph net, PeekedBatches batches, QuantizationOptions options) {
        try {
            INDArray[] first = batches.first();
            return QuantizationPhases.timed(QuantizationListener.Phase.CONVERSION, () -> Dl4jConverter.convert(net,
                    first == null ? -1 : Dl4jConverter.sequenceLength(net, first)));
        } catch (UnsupportedLayerException e) {
            if (!options.keepUnsupportedLayersFp32()) {
                throw e;
            }
            throw new UnsupportedLayerException(e.getMessage()
                    + "; keepUnsupportedLayersFp32 keeps unsupported layers in fp32, not other vertices");
        }
    }

    public static QuantizedModel quantize(SameDiff graph, DataSetIterator calibration) {
        return quantize(graph, calibration, QuantizationOptions.defaults());
    }

    public static QuantizedModel quantize(SameDiff graph, DataSetIterator calibration, QuantizationOptions options) {
        requireRaw(calibration.getPreProcessor(), options);
        return quantize(SameDiffGraphs.of(graph), FeatureBatches.of(calibration), options);
    }

    public static QuantizedModel quantize(SameDiff graph, MultiDataSetIterator calibration,
            QuantizationOptions options) {
        requireRaw(calibration.getPreProcessor(), options);
        return quantize(SameDiffGraphs.of(graph), FeatureBatches.of(calibration), options);
    }

    /**
     * Dynamic quantization of a feed-forward network, without calibration data (PyTorch's {@code
     * quantize_dynamic}): the weights of every dense layer (and output layer) int8 per output channel, each layer's
     * input quantized per call from its own range ({@code s = max|x| / 127} over the batch); convolutions stay fp32.
     * A network with recurrent layers needs its sequence length: {@link #quantizeDynamic(MultiLayerNetwork, long,
     * QuantizationOptions)}.
     */
    public static QuantizedModel quantizeDynamic(MultiLayerNetwork net) {
        return quantizeDynamic(net, -1, QuantizationOptions.defaults());
    }

    /**
     * Dynamic quantization, without calibration data, of a network whose recurrent layers (LSTM, GravesLSTM,
     * SimpleRnn, bidirectional) are unrolled over {@code sequenceLength} steps ({@code -1} for a feed-forward
     * network): dense and recurrent weights int8 per output channel, the input of each of their products (the
     * layer input, and each step's hidden state) quantized per call from its own range. Of {@code options}, the
     * weight bits, range method and granularity, {@code keepFp32}, the input normalizer and cross-layer equalization
     * apply; what needs data (bias correction, AdaRound, sequential calibration, per-point choices) does not.
     */
    public static QuantizedModel quantizeDynamic(MultiLayerNetwork net, long sequenceLength,
            QuantizationOptions options) {
        ModelGraph converted;
        try {
            converted = Dl4jConverter.convert(net, sequenceLength, false);
        } catch (UnsupportedLayerException e) {
            throw withLengthHint(e, sequenceLength);
        }
        return QuantizedModel.of(QuantizationPipeline.quantizeDynamic(converted, options));
    }

    /** As {@link #quantizeDynamic(MultiLayerNetwork, long, QuantizationOptions)}, for a ComputationGraph. */
    public static QuantizedModel quantizeDynamic(ComputationGraph net, long sequenceLength,
            QuantizationOptions options) {
        ModelGraph converted;
        try {
            converted = Dl4jConverter.convert(net, sequenceLength);
        } catch (UnsupportedLayerException e) {
            throw withLengthHint(e, sequenceLength);
        }
        return QuantizedModel.of(QuantizationPipeline.quantizeDynamic(converted, options));
    }

    /** A converter error for an unknown sequence length, with how dynamic quantization is given one. */
    private static UnsupportedLayerException withLengthHint(UnsupportedLayerException e, long sequenceLength) {
        if (sequenceLength >= 0 || !e.getMessage().contains("sequence length")) {
            return e;
        }
        return new UnsupportedLayerException(e.getMessage() + "; without calibration data, give it to"
                + " Quantizer.quantizeDynamic(net, sequenceLength, options)");
    }

    /**
     * Calibrates once for many quantizations: observes {@code net} on at most {@code options.calibrationBatches()}
     * batches of {@code calibration}; {@link Calibration#quantize} then quantizes with any range method, bits and
     * granularity without reading the data again.
     */
    public static Calibration calibrate(MultiLayerNetwork net, DataSetIterator calibration,
            QuantizationOptions options) {
        requireRaw(calibration.getPreProcessor(), options);
        Converted converted = convert(net, calibration);
        return calibrate(converted.graph(), converted.batches(), options);
    }

    /** As {@link #calibrate(MultiLayerNetwork, DataSetIterator, QuantizationOptions)}, for a ComputationGraph. */
    public static Calibration calibrate(ComputationGraph net, DataSetIterator calibration,
            QuantizationOptions options) {
        requireRaw(calibration.getPreProcessor(), options);
        PeekedBatches batches = PeekedBatches.of(FeatureBatches.of(calibration));
        return calibrate(convert(net, batches, options), batches, options);
    }

    /**
     * Quantizes {@code net} within an accuracy budget: as {@link #quantize(MultiLayerNetwork, DataSetIterator,
     * QuantizationOptions)}, then, while the validation score drops more than {@code budget.maxDrop()} below fp32's,
     * the layers whose quantization costs most are kept in fp32, one more at a time ({@link AccuracyControl}). The
     * result names the layers kept, the scores and the evaluations spent.
     *
     * @throws AccuracyBudgetException when no model within the budget is found in {@code budget.maxEvaluations()}
     *                                 validation passes; it names the best drop reached and its layers
     */
    public static BudgetedModel quantizeWithinBudget(MultiLayerNetwork net, DataSetIterator calibration,
            QuantizationOptions options, AccuracyBudget budget) {
        return AccuracyControl.search(calibrate(net, calibration, options), options, budget);
    }

    /** As {@link #quantizeWithinBudget(MultiLayerNetwork, DataSetIterator, QuantizationOptions, AccuracyBudget)}. */
    public static BudgetedModel quantizeWithinBudget(ComputationGraph net, DataSetIterator calibration,
            QuantizationOptions options, AccuracyBudget budget) {
        return AccuracyControl.search(calibrate(net, calibration, options), options, budget);
    }

    /**
     * As {@link #quantizeWithinBudget(MultiLayerNetwork, DataSetIterator, QuantizationOptions, AccuracyBudget)}, from
     * a calibration already made (a study of several budgets reads the calibration data once).
     */
    public static BudgetedModel quantizeWithinBudget(Calibration calibration, QuantizationOptions options,
            AccuracyBudget budget) {
        return AccuracyControl.search(calibration, options, budget);
    }

    /**
     * With an input normalizer the calibration data must be raw: an iterator whose pre-processor is a DL4J normalizer
     * would normalize it twice, and is refused naming both. (Other pre-processors are left alone.)
     */
    private static void requireRaw(Object preProcessor, QuantizationOptions options) {
        if (options.inputNormalization() != null
                && preProcessor instanceof org.nd4j.linalg.dataset.api.preprocessor.Normalizer<?>) {
            throw new QuantizationException("the calibration iterator normalizes its data (pre-processor "
                    + preProcessor.getClass().getSimpleName() + ") and the options build in the input normalizer "
                    + options.inputNormalization().normalizer() + ": with inputNormalizer the calibration data is"
                    + " raw; remove the iterator's pre-processor (setPreProcessor(null)), or leave inputNormalizer"
                    + " unset");
        }
    }

    /** The pipeline on a graph quant4j owns (it is changed: BatchNorms are folded into convolutions). */
    private static QuantizedModel quantize(ModelGraph converted, Iterator<INDArray[]> batches,
            QuantizationOptions options) {
        Calibration calibration = calibrate(converted, batches, options);
        try {
            return calibration.quantize(options);
        } finally {
            calibration.release(); // the graph quant4j made, used once: its arrays freed now, not by the collector
        }
    }

    /**
     * Calibration of a converted graph (a graph quant4j owns: it is changed, BatchNorms are folded into
     * convolutions); for tools that replay a calibration, such as the report.
     */
    public static Calibration calibrate(ModelGraph converted, Iterator<INDArray[]> batches,
            QuantizationOptions options) {
        return new Calibration(QuantizationPipeline.calibrate(converted, batches, options));
    }
}
