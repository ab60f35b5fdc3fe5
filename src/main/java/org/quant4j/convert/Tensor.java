package org.quant4j.convert;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * A value flowing through the conversion: the SameDiff variable and its rank (2 for feed-forward activations
 * [N, F], 4 for convolutional activations [N, C, H, W]). SameDiff does not know the shapes of intermediate
 * values before execution, so the converter tracks the rank itself.
 */
public record Tensor(SDVariable variable, int rank) {
}
