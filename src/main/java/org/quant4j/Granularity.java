package org.quant4j;

/** Whether each channel of a tensor gets its own quantization range, or the whole tensor shares one. */
public enum Granularity {
    PER_CHANNEL,
    PER_TENSOR
}
