package org.quant4j.reference;

import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * He-scaled random weights for DL4J zoo models, whose {@code init()} weights overflow float32 on real images
 * (ResNet50 draws N(0, 0.5) in every layer: DL4J's own output is NaN): every weight tensor {@code W} (and a
 * separable convolution's {@code pW}) is rescaled, in place, to the standard deviation {@code sqrt(2 / fanIn)}, where
 * {@code fanIn} is the tensor's length over its first dimension (a dense layer's rows). The architecture and every
 * other parameter stay as {@code init()} made them.
 */
public final class HeScaling {

    private HeScaling() {
    }

    /** Rescales the weights of {@code net} (a MultiLayerNetwork or ComputationGraph) in place. */
    public static void rescale(Model net) {
        Layer[] layers = net instanceof MultiLayerNetwork m ? m.getLayers() : ((ComputationGraph) net).getLayers();
        for (Layer layer : layers) {
            for (Map.Entry<String, INDArray> e : layer.paramTable().entrySet()) {
                INDArray w = e.getValue();
                if (!(e.getKey().equals("W") || e.getKey().equals("pW")) || w.rank() < 2 || w.length() < 2) {
                    continue;
                }
                long fanIn = w.rank() == 2 ? w.size(0) : w.length() / w.size(0);
                double std = w.stdNumber().doubleValue();
                if (std > 0) {
                    w.muli(Math.sqrt(2.0 / fanIn) / std);
                }
            }
        }
    }
}
