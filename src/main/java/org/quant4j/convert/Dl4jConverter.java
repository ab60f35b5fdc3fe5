package org.quant4j.convert;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.KernelTaps;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.OpNames;
import org.quant4j.graph.ModelGraph.LayerOutput;
import org.quant4j.graph.TensorSpec;

/**
 * Converts a DL4J {@link MultiLayerNetwork} or {@link ComputationGraph} into an equivalent SameDiff graph for
 * inference. The network is only read: its parameters are copied into the graph.
 *
 * <p>Naming: each layer's output variable carries the layer's name (DL4J's name, or {@code layer<i>} when it has
 * none); its parameters are {@code <name>/W}, {@code <name>/b}, ...; intermediate values {@code <name>/preact}.
 */
public final class Dl4jConverter {

    private Dl4jConverter() {
    }

    /** Converts a MultiLayerNetwork; the graph's single input is named {@code input}. */
    public static ModelGraph convert(MultiLayerNetwork net) {
        return convert(net, -1);
    }

    /**
     * Converts a MultiLayerNetwork whose recurrent layers are unrolled over {@code sequenceLength} time steps (-1:
     * not known, enough for a network without recurrent layers); the graph takes sequences of that length only.
     */
    public static ModelGraph convert(MultiLayerNetwork net, long sequenceLength) {
        return convert(net, sequenceLength, false);
    }

    /**
     * As {@link #convert(MultiLayerNetwork, long)}; with {@code featureMask} the graph takes a second input,
     * {@code input_mask} [N, sequenceLength], DL4J's feature mask (1 for a step that counts, 0 for padding), and
     * applies it where DL4J M2.1 does at inference: LastTimeStep takes each example's last unmasked step, global
     * pooling reduces over the unmasked steps (recurrent layers compute the same with and without a mask).
     */
    public static ModelGraph convert(MultiLayerNetwork net, long sequenceLength, boolean featureMask) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        int layers = conf.getConfs().size();
        if (layers == 0) {
            throw new UnsupportedLayerException("the network has no layers");
        }
        TensorSpec input = inputSpec(net, sequenceLength);
        if (!featureMask) {
            return convert(net, 0, layers, input);
        }
        if (input.shape().length != 3 || sequenceLength <= 0) {
            throw new UnsupportedLayerException("a feature mask needs a network that reads sequences of a known length"
                    + " (its input is " + input.shapeText() + ", sequence length " + sequenceLength + ")");
        }
        return convert(net, 0, layers, input, new TensorSpec(Sequences.MASK, new long[] {-1, sequenceLength}));
    }

    /** Whether {@code layer} is unrolled over the time steps when converted (so needs the sequence length). */
    public static boolean unrollsOverTime(Layer layer) {
        Layer inner = Sequences.unwrapped(layer);
        return inner instanceof org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer
                || inner instanceof org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional
                || Sequences.isAttention(inner);
    }

    /**
     * The number of time steps of {@code features} when {@code net} reads sequences (its first layer is recurrent),
     * else -1: what {@link #convert(MultiLayerNetwork, long)} needs, read from a calibration batch.
     */
    public static long sequenceLength(MultiLayerNetwork net, INDArray features) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        if (conf.getConfs().isEmpty() || features == null || features.rank() < 2) {
            return -1;
        }
        Layer first = Wrappers.unwrap(conf.getConf(0).getLayer());
        if (first instanceof org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer) {
            return features.size(features.rank() - 1);
        }
        RNNFormat format = Sequences.format(first, conf.getInputPreProcess(0));
        return format == null || features.rank() != 3 ? -1 : features.size(format == RNNFormat.NWC ? 1 : 2);
    }

    /**
     * The input a MultiLayerNetwork takes, named {@code input}, as its first layer (and that layer's preprocessor)
     * tells it; an error naming the first layer when it cannot be converted or does not tell the shape.
     */
    public static TensorSpec inputSpec(MultiLayerNetwork net) {
        return inputSpec(net, -1);
    }

    /** As {@link #inputSpec(MultiLayerNetwork)}, sequences of {@code sequenceLength} steps (-1: any). */
    public static TensorSpec inputSpec(MultiLayerNetwork net, long sequenceLength) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        if (conf.getConfs().isEmpty()) {
            throw new UnsupportedLayerException("the network has no layers");
        }
        Layer first = conf.getConf(0).getLayer();
        LayerConverters.require(first, 0, layerName(first, 0));
        return inputSpec("input", first, conf.getInputPreProcess(0), "layer 0 '" + layerName(first, 0) + "'",
                sequenceLength);
    }

    /**
     * Converts the layers {@code from} (inclusive) to {@code to} (exclusive) of a MultiLayerNetwork, as a graph
     * whose single input {@code input} takes what layer {@code from - 1} outputs (before layer {@code from}'s input
     * preprocessor, which the graph applies). Layers keep their names and indices, so a part of a network names its
     * variables as the whole network's graph does.
     */
    public static ModelGraph convert(MultiLayerNetwork net, int from, int to, TensorSpec input) {
        return convert(net, from, to, input, null);
    }

    private static ModelGraph convert(MultiLayerNetwork net, int from, int to, TensorSpec input, TensorSpec mask) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        if (from < 0 || to > conf.getConfs().size() || from >= to) {
            throw new IllegalArgumentException("no layers in [" + from + ", " + to + ") of a network of "
                    + conf.getConfs().size() + " layers");
        }
        SameDiff sd = org.quant4j.graph.ArraysOnce.keep(SameDiff.create());
        Map<String, KernelTaps> kernelTaps = new HashMap<>();
        DataType dataType = conf.getDataType() == null ? DataType.FLOAT : conf.getDataType();
        Tensor x = new Tensor(sd.placeHolder(input.name(), dataType, input.shape()), input.shape().length);
        if (mask != null) {
            sd.placeHolder(mask.name(), dataType, mask.shape());
        }
        List<LayerOutput> layerOutputs = new ArrayList<>();
        ChannelsLast layouts = new ChannelsLast(sd);
        for (int i = from; i < to; i++) {
            Layer layer = conf.getConf(i).getLayer();
            String name = layerName(layer, i);
            LayerConverters.require(layer, i, name);
            InputPreProcessor preprocessor = conf.getInputPreProcess(i);
            if (preprocessor != null) {
                x = layouts.preprocess(name + "/preprocessed", preprocessor, x, "layer " + i + " '" + name + "'");
            }
            x = layouts.convertLayer(name, i, layer, net.getLayer(i).paramTable(), x, kernelTaps);
            layerOutputs.add(new LayerOutput(name, layer.getClass().getSimpleName(), x.variable().name()));
        }
        String output = layouts.physical(x).variable().name();
        sd.setOutputs(output);
        OpNames.makeDistinct(sd);
        return new ModelGraph(sd, mask == null ? List.of(input) : List.of(input, mask), List.of(output), layerOutputs,
                kernelTaps);
    }

    /**
     * The number of time steps of the first of {@code features} (one array per network input) that a sequence
     * input of {@code net} takes, else -1: what {@link #convert(ComputationGraph, long)} needs.
     */
    public static long sequenceLength(ComputationGraph net, INDArray[] features) {
        ComputationGraphConfiguration conf = net.getConfiguration();
        List<String> inputs = conf.getNetworkInputs();
        for (int i = 0; i < inputs.size() && i < features.length; i++) {
            for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
                if (e.getValue().contains(inputs.get(i)) && conf.getVertices().get(e.getKey()) instanceof LayerVertex lv
                        && features[i] != null) {
                    Layer first = Wrappers.unwrap(lv.getLayerConf().getLayer());
                    if (first instanceof org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer
                            && features[i].rank() >= 2) {
                        return features[i].size(features[i].rank() - 1);
                    }
                    RNNFormat format = Sequences.format(first, lv.getPreProcessor());
                    if (format != null && features[i].rank() == 3) {
                        return features[i].size(format == RNNFormat.NWC ? 1 : 2);
                    }
                }
            }
        }
        return -1;
    }

    /** Converts a ComputationGraph with layer, element-wise and merge vertices. */
    public static ModelGraph convert(ComputationGraph net) {
        return convert(net, -1);
    }

    /** As {@link #convert(ComputationGraph)}, every sequence input {@code sequenceLength} steps long (-1: not known). */
    public static ModelGraph convert(ComputationGraph net, long sequenceLength) {
        return convert(net, 0, net.getConfiguration().getTopologicalOrderStr().size(), null, null, sequenceLength);
    }

    /**
     * Converts the vertices at positions {@code from} (inclusive) to {@code to} (exclusive) of a ComputationGraph's
     * topological order ({@code getTopologicalOrderStr}). The part's single input is the placeholder {@code boundary}
     * (named after the vertex before the part whose output it stands for, in DL4J's layout), or, when null, the
     * network's inputs; its single output is the vertex {@code output} (whose value later vertices or the network's
     * outputs read), or, when null, the network's outputs. Vertices keep their names and indices, as in the whole
     * graph. Sequence inputs are {@code sequenceLength} steps long (-1: not known).
     */
    public static ModelGraph convert(ComputationGraph net, int from, int to, TensorSpec boundary, String output) {
        return convert(net, from, to, boundary, output, -1);
    }

    private static ModelGraph convert(ComputationGraph net, int from, int to, TensorSpec boundary, String output,
            long sequenceLength) {
        ComputationGraphConfiguration conf = net.getConfiguration();
        SameDiff sd = org.quant4j.graph.ArraysOnce.keep(SameDiff.create());
        Map<String, KernelTaps> kernelTaps = new HashMap<>();
        DataType dataType = conf.getDataType() == null ? DataType.FLOAT : conf.getDataType();
        Map<String, GraphVertex> vertices = conf.getVertices();
        Map<String, List<String>> vertexInputs = conf.getVertexInputs();
        Map<String, Tensor> values = new HashMap<>();
        List<TensorSpec> inputs = new ArrayList<>();
        if (boundary != null) {
            inputs.add(boundary);
            values.put(boundary.name(), new Tensor(sd.placeHolder(boundary.name(), dataType, boundary.shape()),
                    boundary.shape().length));
        }
        for (String input : boundary != null ? List.<String>of() : conf.getNetworkInputs()) {
            TensorSpec spec = inputSpecOfGraphInput(input, vertices, vertexInputs, sequenceLength);
            inputs.add(spec);
            values.put(input, new Tensor(sd.placeHolder(input, dataType, spec.shape()), spec.shape().length));
        }
        List<LayerOutput> layerOutputs = new ArrayList<>();
        ChannelsLast layouts = new ChannelsLast(sd);
        List<String> order = conf.getTopologicalOrderStr();
        for (int index = from; index < to; index++) {
            String name = order.get(index);
            GraphVertex vertex = vertices.get(name) == null ? null : Wrappers.unwrap(vertices.get(name));
            if (vertex == null) {
                continue; // a network input
            }
            List<Tensor> in = new ArrayList<>();
            for (String source : vertexInputs.get(name)) {
                in.add(values.get(source));
            }
            String where = "vertex " + index + " '" + name + "'";
            Tensor out;
            if (vertex instanceof LayerVertex lv) {
                Tensor x = single(in, where);
                LayerConverters.require(lv.getLayerConf().getLayer(), index, name);
                if (lv.getPreProcessor() != null) {
                    x = layouts.preprocess(name + "/preprocessed", lv.getPreProcessor(), x, where);
                }
                Layer layer = lv.getLayerConf().getLayer();
                out = layouts.convertLayer(name, index, layer, net.getLayer(name).paramTable(), x, kernelTaps);
                layerOutputs.add(new LayerOutput(name, layer.getClass().getSimpleName(), out.variable().name()));
            } else if (vertex instanceof ElementWiseVertex ew) {
                in = layouts.elementWiseInputs(in);
                out = elementWise(sd, name, ew.getOp(), in, where);
                layouts.sameAs(out, in);
                layerOutputs.add(new LayerOutput(name, "ElementWiseVertex", out.variable().name()));
            } else if (vertex instanceof MergeVertex mv) {
                in = layouts.elementWiseInputs(in);
                SDVariable[] vars = in.stream().map(Tensor::variable).toArray(SDVariable[]::new);
                int axis = layouts.mergeAxis(in, mv.getMergeAxis());
                out = new Tensor(sd.concat(name, axis, vars), in.get(0).rank());
                layouts.sameAs(out, in);
                layerOutputs.add(new LayerOutput(name, "MergeVertex", out.variable().name()));
            } else if (vertex instanceof ScaleVertex sv) {
                Tensor x = single(in, where);
                out = new Tensor(sd.math.mul(name, x.variable(), sv.getScaleFactor()), x.rank());
                layouts.sameAs(out, in);
                layerOutputs.add(new LayerOutput(name, "ScaleVertex", out.variable().name()));
            } else if (vertex instanceof ShiftVertex sv) {
                Tensor x = single(in, where);
                out = new Tensor(sd.math.add(name, x.variable(), sv.getShiftFactor()), x.rank());
                layouts.sameAs(out, in);
                layerOutputs.add(new LayerOutput(name, "ShiftVertex", out.variable().name()));
            } else if (vertex instanceof L2NormalizeVertex l2) {
                out = l2Normalize(sd, name, l2, layouts.physical(single(in, where)));
                layerOutputs.add(new LayerOutput(name, "L2NormalizeVertex", out.variable().name()));
            } else if (vertex instanceof PreprocessorVertex pv) {
                Tensor x = single(in, where);
                out = layouts.preprocess(name, pv.getPreProcessor(), x, where);
                if (out.variable() == x.variable()) {
                    out = new Tensor(sd.identity(name, x.variable()), x.rank());
                }
                layerOutputs.add(new LayerOutput(name, "PreprocessorVertex", out.variable().name()));
            } else if (vertex instanceof AttentionVertex av) {
                out = AttentionVertexConverter.convert(sd, name, av, layouts.physical(in),
                        net.getVertex(name).paramTable(false), where);
                layerOutputs.add(new LayerOutput(name, "AttentionVertex", out.variable().name()));
            } else if (RnnVertices.supports(vertex)) {
                out = RnnVertices.convert(sd, name, vertex, layouts.physical(in), values, where);
                layerOutputs.add(new LayerOutput(name, vertex.getClass().getSimpleName(), out.variable().name()));
            } else if (GraphVertices.supports(vertex)) {
                out = GraphVertices.convert(sd, name, vertex, layouts.physical(in), where);
                layerOutputs.add(new LayerOutput(name, vertex.getClass().getSimpleName(), out.variable().name()));
            } else {
                throw new UnsupportedLayerException(where + " of type " + vertices.get(name).getClass().getSimpleName()
                        + " is not supported (supported vertices: LayerVertex, ElementWiseVertex, MergeVertex,"
                        + " ScaleVertex, ShiftVertex, L2NormalizeVertex, PreprocessorVertex, SubsetVertex,"
                        + " StackVertex, UnstackVertex, ReshapeVertex, L2Vertex, AttentionVertex, LastTimeStepVertex,"
                        + " DuplicateToTimeSeriesVertex, ReverseTimeSeriesVertex, and these in a FrozenVertex)");
            }
            values.put(name, out);
        }
        List<String> outputs = new ArrayList<>();
        for (String out : output != null ? List.of(output) : conf.getNetworkOutputs()) {
            outputs.add(layouts.physical(values.get(out)).variable().name());
        }
        sd.setOutputs(outputs);
        OpNames.makeDistinct(sd);
        return new ModelGraph(sd, inputs, outputs, layerOutputs, kernelTaps);
    }

    /**
     * L2NormalizeVertex: {@code x / max(||x||_2, eps)}, the norm over the configured dimensions (default: every
     * dimension but the batch dimension), as DL4J computes it.
     */
    private static Tensor l2Normalize(SameDiff sd, String name, L2NormalizeVertex vertex, Tensor x) {
        int[] dims = vertex.getDimension();
        if (dims == null || dims.length == 0) {
            dims = new int[x.rank() - 1];
            for (int d = 1; d < x.rank(); d++) {
                dims[d - 1] = d;
            }
        }
        SDVariable norm = sd.norm2(name + "/norm", x.variable(), true, dims);
        SDVariable clamped = sd.math.max(name + "/clamped", norm, sd.constant(name + "/eps",
                org.nd4j.linalg.factory.Nd4j.scalar(x.variable().dataType(), vertex.getEps())));
        return new Tensor(sd.math.div(name, x.variable(), clamped), x.rank());
    }

    private static Tensor single(List<Tensor> in, String where) {
        if (in.size() != 1) {
            throw new UnsupportedLayerException(where + " has " + in.size() + " inputs; a layer takes exactly one");
        }
        return in.get(0);
    }

    private static Tensor elementWise(SameDiff sd, String name, ElementWiseVertex.Op op, List<Tensor> in, String where) {
        SDVariable[] v = in.stream().map(Tensor::variable).toArray(SDVariable[]::new);
        int rank = in.get(0).rank();
        SDVariable out = switch (op) {
            case Add -> v.length == 2 ? sd.math.add(name, v[0], v[1]) : sd.math.mergeAdd(name, v);
            case Subtract -> {
                if (v.length != 2) {
                    throw new UnsupportedLayerException(where + ": Subtract needs exactly 2 inputs, has " + v.length);
                }
                yield sd.math.sub(name, v[0], v[1]);
            }
            case Product -> {
                SDVariable p = v[0];
                for (int i = 1; i < v.length; i++) {
                    p = i == v.length - 1 ? sd.math.mul(name, p, v[i]) : sd.math.mul(p, v[i]);
                }
                yield p;
            }
            case Average -> sd.math.mergeAvg(name, v);
            case Max -> sd.math.mergeMax(name, v);
            default -> throw new UnsupportedLayerException(where + ": element-wise op " + op + " is not supported");
        };
        return new Tensor(out, rank);
    }

    /** The input a network needs, derived from the first layer and its preprocessor. */
    static TensorSpec inputSpec(String name, Layer wrapped, InputPreProcessor preprocessor, String where, long steps) {
        Layer first = Wrappers.unwrap(wrapped);
        TensorSpec sequence = Sequences.inputSpec(name, first, preprocessor, steps);
        if (sequence != null) {
            return sequence;
        }

        if (preprocessor instanceof FeedForwardToCnnPreProcessor p) {
            return new TensorSpec(name, new long[] {-1, p.getNumChannels() * p.getInputHeight() * p.getInputWidth()});
        }
        if (preprocessor instanceof CnnToFeedForwardPreProcessor p) {
            return new TensorSpec(name, p.getFormat() == CNN2DFormat.NHWC
                    ? new long[] {-1, p.getInputHeight(), p.getInputWidth(), p.getNumChannels()}
                    : new long[] {-1, p.getNumChannels(), p.getInputHeight(), p.getInputWidth()});
        }
        if (first instanceof Convolution1DLayer conv) {
            long channels = conv.getNIn() > 0 ? conv.getNIn() : -1;
            return new TensorSpec(name, conv.getRnnDataFormat() == RNNFormat.NWC
                    ? new long[] {-1, -1, channels} : new long[] {-1, channels, -1});
        }
        if (first instanceof Subsampling1DLayer) {
            return new TensorSpec(name, new long[] {-1, -1, -1});
        }
        if (preprocessor == null && ChannelsLast.format(first) == CNN2DFormat.NHWC) {
            long channels = first instanceof ConvolutionLayer conv && conv.getNIn() > 0 ? conv.getNIn() : -1;
            return new TensorSpec(name, new long[] {-1, -1, -1, channels});
        }
        if (first instanceof PReLULayer prelu && prelu.getInputShape() != null) {
            // DL4J overwrites the shared axes of the configured input shape with 1: only its rank is reliable.
            long[] shape = new long[prelu.getInputShape().length + 1];
            Arrays.fill(shape, -1);
            return new TensorSpec(name, shape);
        }
        if (first instanceof ConvolutionLayer conv) {
            return new TensorSpec(name, new long[] {-1, conv.getNIn() > 0 ? conv.getNIn() : -1, -1, -1});
        }
        if (first instanceof SubsamplingLayer || first instanceof org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer
                || first instanceof org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D
                || first instanceof org.deeplearning4j.nn.conf.layers.Upsampling2D
                || first instanceof org.deeplearning4j.nn.conf.layers.LocalResponseNormalization
                || first instanceof org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer
                || first instanceof org.deeplearning4j.nn.conf.layers.CnnLossLayer) {
            return new TensorSpec(name, new long[] {-1, -1, -1, -1});
        }
        if (first instanceof FeedForwardLayer ff && ff.getNIn() > 0) {
            return new TensorSpec(name, new long[] {-1, ff.getNIn()});
        }
        throw new UnsupportedLayerException(where + " (" + first.getClass().getSimpleName() + "): cannot tell the"
                + " shape of the network input from its first layer; start the network with a convolution or dense"
                + " layer, or set the input type (setInputType) so that DL4J adds a preprocessor");
    }

    private static TensorSpec inputSpecOfGraphInput(String input, Map<String, GraphVertex> vertices,
            Map<String, List<String>> vertexInputs, long sequenceLength) {
        for (Map.Entry<String, List<String>> e : vertexInputs.entrySet()) {
            if (e.getValue().contains(input) && Wrappers.unwrap(vertices.get(e.getKey())) instanceof LayerVertex lv) {
                return inputSpec(input, lv.getLayerConf().getLayer(), lv.getPreProcessor(), "vertex '" + e.getKey() + "'",
                        sequenceLength);

            }
        }
        throw new UnsupportedLayerException("network input '" + input + "' does not feed a layer directly;"
                + " cannot tell its shape");
    }

    /** DL4J's layer name, or {@code layer<i>} for unnamed layers and purely numeric names. */
    public static String layerName(Layer layer, int index) {
        String name = layer.getLayerName();
        if (name == null || name.isBlank()) {
            return "layer" + index;
        }
        return name.chars().allMatch(Character::isDigit) ? "layer" + name : name;
    }
}
