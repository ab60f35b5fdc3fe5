package org.quant4j.convert;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationCube;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationGELU;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationHardTanH;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationSELU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.activations.impl.ActivationTanH;

/** DL4J activation functions ({@link IActivation}) as SameDiff operations, copied exactly as configured. */
final class ActivationFunctions {

    private ActivationFunctions() {
    }

    /**
     * Applies {@code activation} to {@code x}; the result is named {@code name}.
     *
     * @param where the layer, for the error message when the activation is not supported
     */
    static SDVariable apply(SameDiff sd, String name, IActivation activation, SDVariable x, String where) {
        if (activation == null || activation instanceof ActivationIdentity) {
            return sd.identity(name, x);
        }
        if (activation instanceof ActivationReLU relu) {
            boolean plain = isZeroOrNull(relu.getMax()) && isZeroOrNull(relu.getThreshold())
                    && isZeroOrNull(relu.getNegativeSlope());
            if (!plain) {
                throw new UnsupportedLayerException(where + ": ReLU with max/threshold/negative slope "
                        + "is not supported yet (max=" + relu.getMax() + ", threshold=" + relu.getThreshold()
                        + ", negativeSlope=" + relu.getNegativeSlope() + ")");
            }
            return sd.nn.relu(name, x, 0.0);
        }
        if (activation instanceof ActivationLReLU lrelu) {
            return sd.nn.leakyRelu(name, x, lrelu.getAlpha());
        }
        if (activation instanceof ActivationSigmoid) {
            return sd.nn.sigmoid(name, x);
        }
        if (activation instanceof ActivationTanH) {
            return sd.nn.tanh(name, x);
        }
        if (activation instanceof ActivationSoftmax) {
            // DL4J's softmax normalizes over dimension 1 of [N, F] activations.
            return sd.nn.softmax(name, x, 1);
        }
        if (activation instanceof ActivationReLU6) {
            return sd.nn.relu6(name, x, 0.0);
        }
        if (activation instanceof ActivationELU elu) {
            if (elu.getAlpha() != 1.0) {
                throw new UnsupportedLayerException(where + ": ELU with alpha " + elu.getAlpha()
                        + " is not supported yet (only alpha 1)");
            }
            return sd.nn.elu(name, x);
        }
        if (activation instanceof ActivationSELU) {
            return sd.nn.selu(name, x);
        }
        if (activation instanceof ActivationSoftPlus) {
            return sd.nn.softplus(name, x);
        }
        if (activation instanceof ActivationSoftSign) {
            return sd.nn.softsign(name, x);
        }
        if (activation instanceof ActivationHardSigmoid) {
            return sd.nn.hardSigmoid(name, x);
        }
        if (activation instanceof ActivationHardTanH) {
            return sd.nn.hardTanh(name, x);
        }
        if (activation instanceof ActivationSwish) {
            return sd.nn.swish(name, x);
        }
        if (activation instanceof ActivationGELU) {
            return activation.equals(new ActivationGELU(true)) ? sd.nn.preciseGelu(name, x) : sd.nn.gelu(name, x);
        }
        if (activation instanceof ActivationCube) {
            return sd.math.cube(name, x);
        }
        throw new UnsupportedLayerException(where + ": activation " + activation + " is not supported yet");
    }

    private static boolean isZeroOrNull(Double d) {
        return d == null || d == 0.0;
    }
}
