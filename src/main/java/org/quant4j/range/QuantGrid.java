package org.quant4j.range;

/**
 * The integer grid that one tensor is quantized onto.
 *
 * <p>Conventions (used everywhere in quant4j):
 * <ul>
 *   <li>unsigned, {@code bits} = M: levels {@code q = 0 .. 2^M - 1}, zero point 0, scale {@code s = hi / (2^M - 1)};
 *       used for tensors whose every channel is non-negative (e.g. after ReLU);</li>
 *   <li>signed, symmetric ("narrow range"): levels {@code q = -(2^(M-1) - 1) .. 2^(M-1) - 1}, zero point 0,
 *       scale {@code s = max(|lo|, |hi|) / (2^(M-1) - 1)}; used for weights and signed activations;</li>
 *   <li>asymmetric (activations, option {@code activationZeroPoints}): the unsigned levels {@code 0 .. 2^M - 1}
 *       with a zero point {@code z}, {@code x = s (q - z)}: {@link #affine} spans the clip range {@code [lo, hi]}
 *       exactly (no level spent on a side the values do not reach); {@code z} is an integer level, so 0 is exact.</li>
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

    /**
     * A scale and zero point of the asymmetric grid: {@code x = scale * (q - zeroPoint)}.
     *
     * @param scale     the step, as float (the precision the graph uses)
     * @param zeroPoint the level that stands for 0
     */
    public record Affine(float scale, int zeroPoint) {
    }

    /**
     * The asymmetric grid over {@code range} (this grid must be unsigned: its levels {@code 0 .. 2^M - 1}):
     * {@code s = (hi - lo) / (2^M - 1)}, rounded to float, and {@code z = clamp(rint(-lo / s), 0, 2^M - 1)}, the
     * level nearest to where 0 falls (PyTorch's {@code qmin - round(lo / s)}). Then 0 is exactly level z; the grid
     * covers {@code [s (0 - z), s (2^M - 1 - z)]}, the clip range moved by less than half a step. An all-zero range
     * gets a tiny positive scale and zero point 0, as {@link #scale}.
     *
     * @throws IllegalStateException on a signed grid
     */
    public Affine affine(ClipRange range) {
        if (signed) {
            throw new IllegalStateException("the asymmetric grid has unsigned levels; got " + this);
        }
        float s = (float) ((range.hi() - range.lo()) / qmax());
        if (!(s > 0) || !Float.isFinite(s)) {
            return new Affine(Float.MIN_NORMAL, 0);
        }
        int z = (int) Math.max(0, Math.min(qmax(), Math.rint(-range.lo() / s)));
        return new Affine(s, z);
    }
}
