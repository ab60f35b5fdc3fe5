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
import org.nd4j.linalg.activations.impl.ActivationRationalTanh;
import org.nd4j.linalg.activations.impl.ActivationRReLU;
import org.nd4j.linalg.activations.impl.ActivationMish;
import org.nd4j.linalg.activations.impl.ActivationRectifiedTanh;
import org.nd4j.linalg.activations.impl.ActivationThresholdedReLU;
import org.nd4j.linalg.api.ops.impl.transforms.strict.RationalTanh;
import org.nd4j.linalg.api.ops.impl.transforms.strict.RectifiedTanh;
import org.nd4j.linalg.factory.Nd4j;

/** DL4J activation functions ({@link IActivation}) as SameDiff operations, copied exactly as configured. */
final class ActivationFunctions {

    private ActivationFunctions() {
    }

    /**
     * Applies {@code activation} to {@code x}; the result is named {@code name}.
     *
     * @param where the layer, for the error message when the activation is not supported
     * @param rank  the rank of {@code x}
     */
    static SDVariable apply(SameDiff sd, String name, IActivation activation, SDVariable x, String where, int rank) {
        if (activation == null || activation instanceof ActivationIdentity) {
            return sd.identity(name, x);
        }
        if (activation instanceof ActivationReLU relu) {
            boolean plain = isZeroOrNull(relu.getMax()) && isZeroOrNull(relu.getThreshold())
                    && isZeroOrNull(relu.getNegativeSlope());
            return plain ? sd.nn.relu(name, x, 0.0) : generalRelu(sd, name, relu, x);
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
            // DL4J's softmax normalizes over dimension 1 ([N, F], and the channels of NCHW in CnnLossLayer):
            // exp(x - max_1 x) / sum_1 exp(x - max_1 x). Written out because SameDiff M2.1's softmax op with
            // dimension 1 gives wrong values on rank 4 (measured here). On rank 2 the op is right, and integer
            // execution recognizes it as the network's final step.
            if (rank == 2) {
                return sd.nn.softmax(name, x, 1);
            }
            SDVariable e = sd.math.exp(sd.math.sub(x, sd.max(x, true, 1)));
            return sd.math.div(name, e, sd.sum(e, true, 1));
        }
        if (activation instanceof ActivationReLU6) {
            return sd.nn.relu6(name, x, 0.0);
        }
        if (activation instanceof ActivationELU elu) {
            if (elu.getAlpha() == 1.0) {
                return sd.nn.elu(name, x);
            }
            // alpha * (exp(min(x, 0)) - 1) + max(x, 0): x for x > 0, alpha * (e^x - 1) otherwise.
            SDVariable negative = sd.math.mul(sd.math.sub(sd.math.exp(sd.math.min(x, sd.zerosLike(x))), 1.0),
                    elu.getAlpha());
            return sd.math.add(name, negative, sd.nn.relu(x, 0.0));
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
        if (activation instanceof ActivationRReLU rrelu) {
            // At inference DL4J M2.1 runs RectifiedLinear(x, (l + u) / 2): x where x >= (l + u) / 2, else 0 (a
            // cut-off, not the leaky slope the training pass uses); reproduced as DL4J computes it.
            return sd.nn.relu(name, x, (rrelu.getL() + rrelu.getU()) / 2);
        }
        if (activation instanceof ActivationMish) {
            // x * tanh(softplus(x))
            return sd.math.mul(name, x, sd.nn.tanh(sd.nn.softplus(x)));
        }
        if (activation instanceof ActivationRationalTanh) {
            return sd.identity(name, new RationalTanh(sd, x, false).outputVariable());
        }
        if (activation instanceof ActivationRectifiedTanh) {
            return sd.identity(name, new RectifiedTanh(sd, x, false).outputVariable());
        }
        if (activation instanceof ActivationThresholdedReLU t) {
            // x where x > theta, else 0
            return sd.math.mul(name, x, sd.gt(x, t.getTheta()).castTo(x.dataType()));
        }
        throw new UnsupportedLayerException(where + ": activation " + activation + " is not supported");
    }

    /**
     * DL4J's ReLU with threshold t, negative slope a and optional max m:
     * {@code f(x) = x for t <= x (capped at m), a * (x - t) for x < t}.
     */
    private static SDVariable generalRelu(SameDiff sd, String name, ActivationReLU relu, SDVariable x) {
        double t = relu.getThreshold() == null ? 0.0 : relu.getThreshold();
        double a = relu.getNegativeSlope() == null ? 0.0 : relu.getNegativeSlope();
        SDVariable above = sd.gte(x, t).castTo(x.dataType());
        SDVariable below = sd.math.rsub(above, 1.0);
        SDVariable y = sd.math.add(sd.math.mul(x, above), sd.math.mul(sd.math.mul(sd.math.sub(x, t), a), below));
        if (relu.getMax() != null && relu.getMax() != 0.0) {
            return sd.math.min(name, y, sd.constant(Nd4j.scalar(x.dataType(), relu.getMax())));
        }
        return sd.identity(name, y);
    }

    private static boolean isZeroOrNull(Double d) {
        return d == null || d == 0.0;
    }
}
