package org.quant4j.convert;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.KernelTaps;

/**
 * Channels-last (NHWC) networks converted channels-first: the graph holds every image batch as [N, C, H, W], whatever
 * layout DL4J holds it in, so that an NHWC convolution, pooling, BatchNorm... is the same {@code conv2d} (NCHW) op as
 * an NCHW one, with no transposes between layers, and quantization and the int8 plan treat both alike. Layout changes
 * happen only where DL4J's own layout is observable:
 * <ul>
 * <li>into the first channels-last layer (a {@code permute} of the NHWC network input);</li>
 * <li>a flatten of NHWC values (CnnToFeedForward with format NHWC: features in h, w, c order) is kept in c, h, w
 * order, and the dense layer reading it gets its weight rows permuted to match once (W'[(c H + h) W + w] =
 * W[(h W + w) C + c]): the sums are the same products in another order;</li>
 * <li>anything that is not layout-aware (the network's outputs, a layer or vertex this class does not know) gets
 * DL4J's layout back ({@link #physical}).</li>
 * </ul>
 * Layout-aware: the layers with a 2D data format (each converted as a copy of its configuration set to NCHW), the
 * activation and dropout layers, global pooling (its dimensions mapped), dense and output layers after an NHWC
 * flatten, and the element-wise, merge (axis mapped), scale and shift vertices.
 */
final class ChannelsLast {

    /** How DL4J holds a value that the graph holds otherwise. */
    private sealed interface Held permits Nhwc, FlatHwc {
    }

    /** A rank-4 value DL4J holds as [N, H, W, C]; the graph variable is [N, C, H, W]. */
    private record Nhwc() implements Held {
    }

    /** A rank-2 value whose features DL4J orders (h, w, c); the graph variable orders them (c, h, w). */
    private record FlatHwc(long channels, long height, long width) implements Held {
    }

    private final SameDiff sd;
    private final Map<String, Held> held = new HashMap<>();

    ChannelsLast(SameDiff sd) {
        this.sd = sd;
    }

    /**
     * Converts one layer: its input as its converter takes it, its configuration set to NCHW where it is NHWC, a
     * dense layer's weights permuted after an NHWC flatten; the output's layout recorded.
     */
    Tensor convertLayer(String name, int index, Layer layer, Map<String, INDArray> params, Tensor x,
            Map<String, KernelTaps> kernelTaps) {
        Layer inner = Wrappers.unwrap(layer);
        Held in = held.get(x.variable().name());
        CNN2DFormat format = format(inner);
        if (format != null && x.rank() == 4) {
            Tensor nchw = format == CNN2DFormat.NHWC ? canonicalOfNhwc(x, name) : physical(x);
            Tensor out = LayerConverters.convert(sd, name, index, format == CNN2DFormat.NHWC ? asNchw(inner) : inner,
                    params, nchw, kernelTaps);
            if (format == CNN2DFormat.NHWC && out.rank() == 4) {
                held.put(out.variable().name(), new Nhwc());
            }
            return out;
        }
        boolean softmax = inner instanceof ActivationLayer a && a.getActivationFn() instanceof ActivationSoftmax;
        if ((inner instanceof ActivationLayer || inner instanceof DropoutLayer) && in != null && !softmax) {
            Tensor out = LayerConverters.convert(sd, name, index, inner, params, x, kernelTaps);
            held.put(out.variable().name(), in);
            return out;
        }
        if (inner instanceof GlobalPoolingLayer pooling && in instanceof Nhwc && x.rank() == 4) {
            int[] dims = pooling.getPoolingDimensions() == null || pooling.getPoolingDimensions().length == 0
                    ? new int[] {2, 3} : pooling.getPoolingDimensions();
            if (!pooling.isCollapseDimensions() || dims.length >= 2) {
                GlobalPoolingLayer mapped = (GlobalPoolingLayer) pooling.clone();
                int[] canonical = new int[dims.length];
                for (int i = 0; i < dims.length; i++) {
                    canonical[i] = canonicalAxis(dims[i]);
                }
                mapped.setPoolingDimensions(canonical);
                Tensor out = LayerConverters.convert(sd, name, index, mapped, params, x, kernelTaps);
                if (out.rank() == 4) {
                    held.put(out.variable().name(), in);
                }
                return out;
            }
        }
        if (in instanceof FlatHwc flat && isDense(inner) && params.containsKey("W")
                && params.get("W").size(0) == flat.channels() * flat.height() * flat.width()) {
            Map<String, INDArray> permuted = new HashMap<>(params);
            INDArray w = params.get("W");
            permuted.put("W", w.reshape('c', flat.height(), flat.width(), flat.channels(), w.size(1))
                    .permute(2, 0, 1, 3).dup('c').reshape('c', w.size(0), w.size(1)));
            return LayerConverters.convert(sd, name, index, layer, permuted, x, kernelTaps);
        }
        return LayerConverters.convert(sd, name, index, layer, params, physical(x), kernelTaps);
    }

    /**
     * A layer's input preprocessor: an NHWC flatten of a value held channels-first stays in (c, h, w) order (recorded,
     * for the dense layer after it); a FeedForwardToCnn of a rank-4 value passes it through, as DL4J does; any other
     * through {@link Preprocessors} on DL4J's layout.
     */
    Tensor preprocess(String name, InputPreProcessor preprocessor, Tensor x, String where) {
        Held in = held.get(x.variable().name());
        if (preprocessor instanceof CnnToFeedForwardPreProcessor p && p.getFormat() == CNN2DFormat.NHWC
                && in instanceof Nhwc && x.rank() == 4) {
            long features = p.getNumChannels() * p.getInputHeight() * p.getInputWidth();
            Tensor flat = new Tensor(sd.reshape(name, x.variable(), -1, features), 2);
            held.put(name, new FlatHwc(p.getNumChannels(), p.getInputHeight(), p.getInputWidth()));
            return flat;
        }
        if (preprocessor instanceof FeedForwardToCnnPreProcessor && x.rank() == 4) {
            Tensor same = new Tensor(sd.identity(name, x.variable()), 4);
            if (in != null) {
                held.put(name, in);
            }
            return same;
        }
        return Preprocessors.apply(sd, name, preprocessor, physical(x), where);
    }

    /**
     * The inputs of an element-wise, scale or shift vertex (the same layout on every input: kept, else DL4J's
     * layout), and the layout of its output.
     */
    List<Tensor> elementWiseInputs(List<Tensor> inputs) {
        if (sameHeld(inputs)) {
            return inputs;
        }
        return inputs.stream().map(this::physical).toList();
    }

    /** Records that the output of a vertex over {@code inputs} (from {@link #elementWiseInputs}) has their layout. */
    void sameAs(Tensor out, List<Tensor> inputs) {
        Held h = held.get(inputs.get(0).variable().name());
        if (h != null && out.rank() == inputs.get(0).rank()) {
            held.put(out.variable().name(), h);
        }
    }

    /** The axis of a merge along DL4J's {@code axis} as the graph holds {@code inputs} (NHWC axes mapped). */
    int mergeAxis(List<Tensor> inputs, int axis) {
        return held.get(inputs.get(0).variable().name()) instanceof Nhwc ? canonicalAxis(axis) : axis;
    }

    /** Whether every input is held alike (and so can be combined as the graph holds them). */
    boolean sameHeld(List<Tensor> inputs) {
        Held first = held.get(inputs.get(0).variable().name());
        for (Tensor t : inputs) {
            Held h = held.get(t.variable().name());
            if (h == null ? first != null : !h.equals(first)) {
                return false;
            }
        }
        return true;
    }

    /** Every input in DL4J's layout. */
    List<Tensor> physical(List<Tensor> inputs) {
        List<Tensor> out = new ArrayList<>(inputs.size());
        inputs.forEach(t -> out.add(physical(t)));
        return out;
    }

    /** {@code x} as DL4J holds it (a permute or a reordering reshape where the graph holds it otherwise). */
    Tensor physical(Tensor x) {
        Held h = held.get(x.variable().name());
        String name = x.variable().name();
        if (h instanceof Nhwc) {
            return new Tensor(sd.permute(unique(name + "/as-nhwc"), x.variable(), 0, 2, 3, 1), 4);
        }
        if (h instanceof FlatHwc f) {
            SDVariable image = sd.reshape(unique(name + "/as-chw"), x.variable(), -1, f.channels(), f.height(),
                    f.width());
            SDVariable hwc = sd.permute(unique(name + "/as-hwc"), image, 0, 2, 3, 1);
            return new Tensor(sd.reshape(unique(name + "/as-flat-hwc"), hwc, -1,
                    f.channels() * f.height() * f.width()), 2);
        }
        return x;
    }

    /** An NHWC input of a channels-last layer as the graph holds it, [N, C, H, W]. */
    private Tensor canonicalOfNhwc(Tensor x, String layer) {
        if (held.get(x.variable().name()) instanceof Nhwc) {
            return x;
        }
        return new Tensor(sd.permute(unique(layer + "/as-nchw"), x.variable(), 0, 3, 1, 2), 4);
    }

    /** {@code name}, or {@code name_<i>} when the graph already has a variable of that name. */
    private String unique(String name) {
        String candidate = name;
        for (int i = 1; sd.hasVariable(candidate); i++) {
            candidate = name + "_" + i;
        }
        return candidate;
    }

    /** An axis of an NHWC array as the axis of the same dimension in NCHW. */
    private static int canonicalAxis(int axis) {
        return switch (axis) {
            case 1 -> 2;
            case 2 -> 3;
            case 3, -1 -> 1;
            default -> axis;
        };
    }

    private static boolean isDense(Layer layer) {
        return layer instanceof DenseLayer || layer instanceof OutputLayer || layer instanceof CenterLossOutputLayer;
    }

    /** The 2D data format of a layer that has one (the layers taking image batches), else null. */
    static CNN2DFormat format(Layer layer) {
        Layer l = Wrappers.unwrap(layer);
        if (l instanceof ConvolutionLayer c && !(l instanceof Convolution1DLayer)) {
            return c.getCnn2dDataFormat();
        }
        if (l instanceof SubsamplingLayer s && !(l instanceof Subsampling1DLayer)) {
            return s.getCnn2dDataFormat();
        }
        if (l instanceof BatchNormalization b) {
            return b.getCnn2DFormat();
        }
        if (l instanceof Upsampling2D u) {
            return u.getFormat();
        }
        if (l instanceof ZeroPaddingLayer z) {
            return z.getDataFormat();
        }
        if (l instanceof Cropping2D c) {
            return c.getDataFormat();
        }
        if (l instanceof LocalResponseNormalization n) {
            return n.getDataFormat();
        }
        if (l instanceof SpaceToDepthLayer s) {
            return s.getDataFormat();
        }
        if (l instanceof CnnLossLayer c) {
            return c.getFormat();
        }
        if (l instanceof Yolo2OutputLayer y) {
            return y.getFormat();
        }
        return null;
    }

    /** A copy of the layer's configuration set to NCHW (nothing else in the configuration depends on the layout). */
    static Layer asNchw(Layer layer) {
        Layer copy = layer.clone();
        if (copy instanceof ConvolutionLayer c) {
            c.setCnn2dDataFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof SubsamplingLayer s) {
            s.setCnn2dDataFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof BatchNormalization b) {
            b.setCnn2DFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof Upsampling2D u) {
            u.setFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof ZeroPaddingLayer z) {
            z.setDataFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof Cropping2D c) {
            c.setDataFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof LocalResponseNormalization n) {
            n.setDataFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof SpaceToDepthLayer s) {
            s.setDataFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof CnnLossLayer c) {
            c.setFormat(CNN2DFormat.NCHW);
        } else if (copy instanceof Yolo2OutputLayer y) {
            y.setFormat(CNN2DFormat.NCHW);
        }
        return copy;
    }
}
