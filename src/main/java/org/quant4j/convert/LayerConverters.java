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
import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1D;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.GravesBidirectionalLSTM;
import org.deeplearning4j.nn.conf.layers.recurrent.TimeDistributed;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.KernelTaps;

/**
 * The registry from DL4J layer configuration class to its {@link LayerConverter}. Classes match exactly: a
 * subclass (say Deconvolution2D, a ConvolutionLayer) computes something else, so it needs its own converter.
 */
public final class LayerConverters {

    private static final Map<Class<? extends Layer>, LayerConverter<?>> CONVERTERS = Map.ofEntries(
            Map.entry(DenseLayer.class, new FeedForwardConverter()),
            Map.entry(OutputLayer.class, new FeedForwardConverter()),
            Map.entry(CenterLossOutputLayer.class, new FeedForwardConverter()),
            Map.entry(LossLayer.class, new LossLayerConverter()),
            Map.entry(CnnLossLayer.class, new CnnLossLayerConverter()),
            Map.entry(ConvolutionLayer.class, new ConvolutionConverter()),
            Map.entry(DepthwiseConvolution2D.class, new DepthwiseConvolutionConverter()),
            Map.entry(SeparableConvolution2D.class, new SeparableConvolutionConverter()),
            Map.entry(Deconvolution2D.class, new Deconvolution2DConverter()),
            Map.entry(Convolution1DLayer.class, new Convolution1DConverter()),
            Map.entry(Convolution1D.class, new Convolution1DConverter()),
            Map.entry(SubsamplingLayer.class, new SubsamplingConverter()),
            Map.entry(Subsampling1DLayer.class, new Subsampling1DConverter()),
            Map.entry(PReLULayer.class, new PReLUConverter()),
            Map.entry(BatchNormalization.class, new BatchNormConverter()),
            Map.entry(LocalResponseNormalization.class, new LrnConverter()),
            Map.entry(ActivationLayer.class, new ActivationLayerConverter()),
            Map.entry(DropoutLayer.class, new DropoutConverter()),
            Map.entry(GlobalPoolingLayer.class, new GlobalPoolingConverter()),
            Map.entry(ZeroPaddingLayer.class, new ZeroPaddingConverter()),
            Map.entry(Cropping2D.class, new Cropping2DConverter()),
            Map.entry(Upsampling2D.class, new Upsampling2DConverter()),
            Map.entry(SpaceToDepthLayer.class, new SpaceToDepthConverter()),
            Map.entry(Yolo2OutputLayer.class, new Yolo2OutputConverter()),
            Map.entry(LSTM.class, new LstmConverter()),
            Map.entry(GravesLSTM.class, new LstmConverter()),
            Map.entry(RnnOutputLayer.class, new RnnOutputLayerConverter()),
            Map.entry(RnnLossLayer.class, new RnnLossLayerConverter()),
            Map.entry(LastTimeStep.class, new LastTimeStepConverter()),
            Map.entry(SimpleRnn.class, new SimpleRnnConverter()),
            Map.entry(Bidirectional.class, new BidirectionalConverter()),
            Map.entry(EmbeddingLayer.class, new EmbeddingConverter()),
            Map.entry(EmbeddingSequenceLayer.class, new EmbeddingSequenceConverter()),
            Map.entry(SelfAttentionLayer.class, new SelfAttentionConverter()),
            Map.entry(LearnedSelfAttentionLayer.class, new LearnedSelfAttentionConverter()),
            Map.entry(RecurrentAttentionLayer.class, new RecurrentAttentionConverter()),
            Map.entry(GravesBidirectionalLSTM.class, new GravesBidirectionalLstmConverter()),
            Map.entry(TimeDistributed.class, new TimeDistributedConverter()),
            Map.entry(MaskZeroLayer.class, new MaskZeroConverter()));

    private LayerConverters() {
    }

    /** Whether the layer type can be converted. */
    public static boolean supports(Layer layer) {
        return CONVERTERS.containsKey(Wrappers.unwrap(layer).getClass());
    }

    /** The simple names of the supported layer types, sorted. */
    public static String supportedTypes() {
        TreeSet<String> names = new TreeSet<>();
        CONVERTERS.keySet().forEach(c -> names.add(c.getSimpleName()));
        return String.join(", ", names);
    }

    /**
     * The converter of {@code layer} (of the layer a frozen wrapper holds, {@link Wrappers}); an error naming the
     * layer's index, name and type when there is none.
     */
    static LayerConverter<?> require(Layer layer, int index, String name) {
        LayerConverter<?> converter = CONVERTERS.get(Wrappers.unwrap(layer).getClass());
        if (converter == null) {
            throw new UnsupportedLayerException("layer " + index + " '" + name + "' of type "
                    + Wrappers.typeName(layer) + " is not supported (supported: " + supportedTypes()
                    + ", and these wrapped in FrozenLayer or FrozenLayerWithBackprop)");
        }
        return converter;
    }

    /**
     * Converts one layer (a frozen one as the layer it wraps, with the same parameters); its output variable is named
     * {@code name}. Weights that hold structural zeros go into
     * {@code kernelTaps}.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Tensor convert(SameDiff sd, String name, int index, Layer layer, Map<String, INDArray> params, Tensor input,
            Map<String, KernelTaps> kernelTaps) {
        LayerConverter converter = require(layer, index, name);
        Layer inner = Wrappers.unwrap(layer);
        return converter.convert(new LayerContext(sd, name, index, inner, params, kernelTaps), input);
    }
}
