package org.quant4j.report;

/**
 * The signal-to-quantization-noise ratio of one layer's output: the fp32 network against the quantized one, on
 * the same inputs. SQNR = 10 log10(sum x^2 / sum (x - x_q)^2) in dB; it measures the error accumulated up to and
 * including this layer. Infinite when the outputs are identical (a layer before any quantized op).
 *
 * @param layer    the layer's name
 * @param type     the layer's type (DL4J class or SameDiff op)
 * @param variable the graph variable compared
 * @param sqnrDb   the SQNR in dB
 */
public record LayerSqnr(String layer, String type, String variable, double sqnrDb) {
}
