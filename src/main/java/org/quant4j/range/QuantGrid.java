package org.quant4j.range;

/**
 * The integer grid that one tensor is quantized onto.
 *
 * <p>Conventions (used everywhere in quant4j):
 * <ul>
 *   <li>unsigned, {@code bits} = M: levels {@code q = 0 .. 2^M - 1}, zero point 0, scale {@code s = hi / (2^M - 1)};
 *       used for tensors whose every channel is non-negative (e.g. after ReLU);</li>
 *   <li>signed, symmetric ("narrow range"): levels {@code q = -(2^(M-1) - 1) .. 2^(M-1) - 1}, zero point 0,
 *       scale {@code s = max(|lo|, |hi|) / (2^(M-1) - 1)}; used for weights and signed activations.</li>
 * </ul>
 * A real value x is quantized as {@code q = clamp(rint(x / s), qmin, qmax)} and dequantized as {@code q * s}
 * (round half to even, as the int8 kernels round).
 *
 * @param bits     M, the number of bits, 2..16
 * @param signed   true for the symmetric signed grid, false for the unsigned grid
 */
public record QuantGrid(int bits, boolean signed) {

    public QuantGrid {
        if (bits < 2 || bits > 16) {
            throw new IllegalArgumentException("bits must be in 2..16, got " + bits);
        }
    }

    /** Smallest integer level. */
    public int qmin() {
        return signed ? -((1 << (bits - 1)) - 1) : 0;
    }

    /** Largest integer level. */
    public int qmax() {
        return signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    }

    /**
     * The scale that maps the clip range onto this grid: the step between two adjacent levels.
     * Returns a tiny positive scale for an all-zero range so that quantization stays defined.
     */
    public double scale(ClipRange range) {
        double magnitude = signed ? Math.max(Math.abs(range.lo()), Math.abs(range.hi())) : Math.max(range.hi(), 0.0);
        double s = magnitude / qmax();
        return s > 0 && Double.isFinite(s) ? s : Float.MIN_NORMAL;
    }
}
