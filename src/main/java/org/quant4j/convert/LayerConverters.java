package org.quant4j.convert;

import java.util.Map;
import java.util.TreeSet;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The registry from DL4J layer configuration class to its {@link LayerConverter}. Classes match exactly: a
 * subclass (say Deconvolution2D, a ConvolutionLayer) computes something else, so it needs its own converter.
 */
public final class LayerConverters {

    private static final Map<Class<? extends Layer>, LayerConverter<?>> CONVERTERS = Map.of(
            DenseLayer.class, new FeedForwardConverter(),
            OutputLayer.class, new FeedForwardConverter(),
            LossLayer.class, new LossLayerConverter(),
            ConvolutionLayer.class, new ConvolutionConverter(),
            SubsamplingLayer.class, new SubsamplingConverter(),
            BatchNormalization.class, new BatchNormConverter(),
            ActivationLayer.class, new ActivationLayerConverter(),
            DropoutLayer.class, new DropoutConverter(),
            GlobalPoolingLayer.class, new GlobalPoolingConverter());

    private LayerConverters() {
    }

    /** Whether the layer type can be converted. */
    public static boolean supports(Layer layer) {
        return CONVERTERS.containsKey(layer.getClass());
    }

    /** The simple names of the supported layer types, sorted. */
    public static String supportedTypes() {
        TreeSet<String> names = new TreeSet<>();
        CONVERTERS.keySet().forEach(c -> names.add(c.getSimpleName()));
        return String.join(", ", names);
    }

    /** The converter of {@code layer}; an error naming the layer's index, name and type when there is none. */
    static LayerConverter<?> require(Layer layer, int index, String name) {
        LayerConverter<?> converter = CONVERTERS.get(layer.getClass());
        if (converter == null) {
            throw new UnsupportedLayerException("layer " + index + " '" + name + "' of type "
                    + layer.getClass().getSimpleName() + " is not supported (supported: " + supportedTypes() + ")");
        }
        return converter;
    }

    /** Converts one layer; its output variable is named {@code name}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Tensor convert(SameDiff sd, String name, int index, Layer layer, Map<String, INDArray> params, Tensor input) {
        LayerConverter converter = require(layer, index, name);
        return converter.convert(new LayerContext(sd, name, index, layer, params), input);
    }
}
