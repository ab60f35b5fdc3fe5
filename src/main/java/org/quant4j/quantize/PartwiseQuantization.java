package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.convert.Dl4jLayers;
import org.quant4j.convert.LayerConverters;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.report.LayerSqnr;
import org.quant4j.report.QuantizationReport;
import org.quant4j.runtime.Dnnl;

/**
 * Quantizes a MultiLayerNetwork that holds layers the converter does not support, for
 * {@link QuantizationOptions#keepUnsupportedLayersFp32}: the network is cut into runs of consecutive layers,
 * supported or not. Each supported run is converted on its own ({@link Dl4jConverter#convert(MultiLayerNetwork, int,
 * int, TensorSpec)}) and quantized as a network of its own; each unsupported run is copied into {@link Dl4jLayers}
 * and runs in DL4J in fp32. The parts are calibrated in network order on the same calibration batches: a part sees
 * the fp32 values that reach it (the fp32 graphs of the quantized parts before it and the DL4J layers), as a
 * quantization point of a one-graph network does. The report joins the parts' reports; the DL4J layers are listed
 * among the layers kept in fp32. The calibration batches, and each boundary's values for them, are held in memory
 * while quantizing.
 */
public final class PartwiseQuantization {

    private PartwiseQuantization() {
    }

    /** Whether {@code net} has a layer the converter does not support. */
    public static boolean hasUnsupportedLayers(MultiLayerNetwork net) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            if (!LayerConverters.supports(conf.getConf(i).getLayer())) {
                return true;
            }
        }
        return false;
    }

    /**
     * A run of consecutive layers (of vertices, for a ComputationGraph), all supported or all not: how to convert it
     * given its input (null for the network's own: {@code startsAtInput}) and the first calibration batch reaching it,
     * or copy it into DL4J layers; the name of its input when it starts inside the network; whether it holds a
     * recurrent layer, unrolled over the time steps of its input ({@code unrolled}: the time axis is then fixed).
     */
    record Segment(boolean supported, List<String> names, BiFunction<TensorSpec, INDArray, ModelGraph> converter,
            Supplier<Dl4jLayers> fp32, boolean startsAtInput, String inputName, boolean unrolled) {
    }

    /** Whether {@code net} has a layer vertex the converter does not support. */
    public static boolean hasUnsupportedLayers(ComputationGraph net) {
        return GraphSegments.hasUnsupportedLayers(net);
    }

    public static QuantizedNetwork.InParts quantize(MultiLayerNetwork net, Iterator<INDArray[]> data,
            QuantizationOptions requested) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        int layers = conf.getConfs().size();
        List<Segment> segments = new ArrayList<>();
        int from = 0;
        while (from < layers) {
            boolean supported = LayerConverters.supports(conf.getConf(from).getLayer());
            int to = from + 1;
            while (to < layers && LayerConverters.supports(conf.getConf(to).getLayer()) == supported) {
                to++;
            }
            int start = from;
            int end = to;
            List<String> names = new ArrayList<>();
            for (int i = from; i < to; i++) {
                names.add(Dl4jConverter.layerName(conf.getConf(i).getLayer(), i));
            }
            boolean unrolled = false;
            for (int i = from; i < to; i++) {
                unrolled |= supported && Dl4jConverter.unrollsOverTime(conf.getConf(i).getLayer());
            }
            boolean overTime = unrolled;
            segments.add(new Segment(supported, names,
                    (spec, first) -> Dl4jConverter.convert(net, start, end, spec != null ? spec
                            : Dl4jConverter.inputSpec(net, overTime ? Dl4jConverter.sequenceLength(net, first) : -1)),
                    () -> Dl4jLayers.copyOf(net, start, end), start == 0, "input", unrolled));
            from = to;
        }
        return quantize(segments, data, requested);
    }

    /** A ComputationGraph in parts ({@link GraphSegments}: one value flows past each run of unsupported layers). */
    public static QuantizedNetwork.InParts quantize(ComputationGraph net, Iterator<INDArray[]> data,
            QuantizationOptions requested) {
        return quantize(GraphSegments.of(net), data, requested);
    }

    private static QuantizedNetwork.InParts quantize(List<Segment> segments, Iterator<INDArray[]> data,
            QuantizationOptions requested) {
        QuantizationOptions options = requested.resolved(Dnnl.safeWeightBits());
        List<INDArray> batches = new ArrayList<>();
        while (batches.size() < options.calibrationBatches() && data.hasNext()) {
            INDArray[] features = data.next();
            if (features.length != 1) {
                throw new QuantizationException("calibration batch " + batches.size() + " has " + features.length
                        + " feature arrays; a network kept partly in fp32 takes one");
            }
            String bad = FiniteValues.nonFinite(features[0]);
            if (bad != null) {
                throw new QuantizationException("calibration batch " + batches.size() + ": features hold " + bad
                        + "; calibration data must be finite");
            }
            // a copy: an iterator may hand out the same buffer again, refilled, for its next batch
            batches.add(features[0].dataType().isFPType() ? features[0].dup('c')
                    : features[0].castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT));
        }
        boolean cutOff = data.hasNext();
        if (batches.isEmpty()) {
            throw new QuantizationException("the calibration data is empty: its iterator gave no batch");
        }
        long[] miniBatches = batches.stream().mapToLong(b -> b.size(0)).toArray();

        TensorSpec input = null;
        List<Object> parts = new ArrayList<>();
        List<TensorQuantization> quantizations = new ArrayList<>();
        List<QuantizationReport> reports = new ArrayList<>();
        List<String> fp32Names = new ArrayList<>();
        Set<String> unmatched = new TreeSet<>(options.keepFp32());
        for (Segment segment : segments) {
            List<INDArray> next = new ArrayList<>();
            if (segment.supported()) {
                ModelGraph graph = segment.converter().apply(segment.startsAtInput() ? null
                        : boundary(segment.inputName(), batches.get(0), segment.unrolled()), batches.get(0));
                TensorSpec spec = graph.inputs().get(0);
                Set<String> kept = keptIn(segment.names(), options.keepFp32());
                unmatched.removeAll(kept);
                // the input normalization is built into the first part only: the later ones read its values
                QuantizationOptions partOptions = options.withKeepFp32(kept)
                        .withInputNormalization(segment.startsAtInput() ? options.inputNormalization() : null);
                List<INDArray[]> feed = batches.stream().map(b -> new INDArray[] {b}).toList();
                ObservedNetwork calibration = QuantizationPipeline.calibrate(graph, feed.iterator(), partOptions);
                QuantizedNetwork.Whole part = QuantizationPipeline.quantize(calibration, partOptions);
                parts.add(part);
                quantizations.addAll(part.quantizations());
                reports.add(part.report());
                ModelGraph fp32 = calibration.fp32Graph();
                String out = fp32.outputs().get(0);
                for (INDArray b : batches) {
                    next.add(GraphExecution.output(fp32.graph(), Map.of(spec.name(), b), List.of(out)).get(out));
                }
                if (input == null) {
                    input = spec;
                }
            } else {
                if (segment.startsAtInput() && options.inputNormalization() != null) {
                    throw new QuantizationException("an input normalizer is built into the first quantized part, but"
                            + " the first layer '" + segment.names().get(0) + "' is kept in DL4J: normalize the data"
                            + " yourself for this network");
                }
                Dl4jLayers fp32 = segment.fp32().get();
                parts.add(fp32);
                fp32.layers().forEach(l -> fp32Names.add(l.name()));
                for (int b = 0; b < batches.size(); b++) {
                    next.add(fp32.output(batches.get(b), miniBatches[b]));
                }
                if (input == null) {
                    input = boundary("input", batches.get(0), false);
                }
            }
            batches = next;
        }
        if (!unmatched.isEmpty()) {
            throw new QuantizationException("keepFp32 names no quantizable layer: " + unmatched);
        }
        return new QuantizedNetwork.InParts(parts, input, options, quantizations, joined(reports, fp32Names, options,
                miniBatches, cutOff));
    }

    /**
     * The input of a part that starts inside the network, from a value that reaches it: any batch size, the
     * channels (or features) of axis 1 fixed, any size along further axes (time steps, image sizes), but for a
     * part holding a recurrent layer ({@code unrolled}), converted for the sequence length it sees.
     */
    private static TensorSpec boundary(String name, INDArray value, boolean unrolled) {
        long[] shape = new long[value.rank()];
        java.util.Arrays.fill(shape, -1);
        if (shape.length > 1) {
            shape[1] = value.size(1);
        }
        if (unrolled && shape.length == 3) {
            shape[2] = value.size(2); // a recurrent layer of the part is unrolled: [N, F, T] or [N, T, F], fixed
        }
        return new TensorSpec(name, shape);
    }

    /** The names of {@code keepFp32} that belong to the layers {@code names}: a layer's name or an op in it. */
    private static Set<String> keptIn(List<String> names, Set<String> keepFp32) {
        Set<String> kept = new LinkedHashSet<>();
        for (String name : names) {
            for (String k : keepFp32) {
                if (k.equals(name) || k.startsWith(name + "/")) {
                    kept.add(k);
                }
            }
        }
        return kept;
    }

    /** One report for the parts: their ops and per-layer SQNR in network order, the DL4J layers kept fp32. */
    private static QuantizationReport joined(List<QuantizationReport> reports, List<String> fp32Layers,
            QuantizationOptions options, long[] miniBatches, boolean cutOff) {
        List<String> quantized = new ArrayList<>();
        List<String> kept = new ArrayList<>();
        List<LayerSqnr> sqnr = new ArrayList<>();
        Set<String> granularities = new LinkedHashSet<>();
        long calibrationMillis = 0;
        long solveMillis = 0;
        for (QuantizationReport r : reports) {
            quantized.addAll(r.quantizedOps());
            kept.addAll(r.keptFp32Ops());
            sqnr.addAll(r.layers());
            granularities.add(r.granularity());
            calibrationMillis += r.calibrationMillis();
            solveMillis += r.solveMillis();
        }
        kept.addAll(fp32Layers);
        long samples = java.util.Arrays.stream(miniBatches).sum();
        String granularity = String.join("; ", granularities) + "; layers kept in fp32 (DL4J): "
                + String.join(", ", fp32Layers);
        return new QuantizationReport(options.activationRangeMethod().name(), options.weightRangeMethod().name(),
                options.activationBits(), options.weightBits(), granularity, miniBatches.length, samples, cutOff, quantized,
                kept, calibrationMillis, solveMillis, sqnr, options.inputNormalization() == null ? null
                        : options.inputNormalization().description());
    }
}
