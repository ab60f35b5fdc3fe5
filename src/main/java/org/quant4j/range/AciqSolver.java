package org.quant4j.range;

import org.apache.commons.math3.distribution.LaplaceDistribution;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.range.pdf.ClipError;

/**
 * ACIQ (Banner, Nahshan, Soudry 2019, "Post training 4-bit quantization of convolutional networks for
 * rapid-deployment"; name "aciq"): the closed-form-optimal clip of a Laplace or a Gaussian with the channel's
 * moments.
 *
 * <p>The channel's kurtosis picks the prior: above 4.5 (half way between the Gaussian's 3 and the Laplace's 6)
 * Laplace with {@code b = std / sqrt(2)}, else Gaussian with {@code sigma = std}. The clip is {@code alpha(M) b} or
 * {@code alpha(M) sigma} with ACIQ's published constants for M = 2..8 (Laplace 2.83, 3.89, 5.03, 6.20, 7.41, 8.64,
 * 9.89; Gaussian 1.71, 2.15, 2.55, 2.93, 3.28, 3.61, 3.92), the minima of
 * {@code 2 C(a) + a^2 / (3 4^M)} ({@link ClipError} with {@link ClipError.NoiseWeight#ALL_VALUES}); other M are
 * solved numerically the same way. Two-sided: {@code [mean - a, mean + a]}; a one-sided channel (min >= 0) uses
 * the half model of {@link org.quant4j.range.pdf.PdfFitter} (scale = RMS of the non-zero values, kurtosis of the
 * mirrored data), and since all 2^M levels then lie on [0, a] it is the symmetric problem at M + 1 bits. Always
 * intersected with the observed extremes.
 */
public final class AciqSolver implements RangeSolver {

    private static final double[] LAPLACE = {2.83, 3.89, 5.03, 6.20, 7.41, 8.64, 9.89};
    private static final double[] GAUSSIAN = {1.71, 2.15, 2.55, 2.93, 3.28, 3.61, 3.92};

    @Override
    public String name() {
        return "aciq";
    }

    /** ACIQ's alpha for M bits (in units of b for Laplace, sigma for Gaussian). */
    public static double alpha(int bits, boolean laplace) {
        if (bits >= 2 && bits <= 8) {
            return (laplace ? LAPLACE : GAUSSIAN)[bits - 2];
        }
        return ClipError.optimalClip(laplace ? new LaplaceDistribution(0, 1) : new NormalDistribution(0, 1),
                ClipError.symmetricStep(bits), ClipError.NoiseWeight.ALL_VALUES);
    }

    @Override
    public ClipRange solve(ChannelStatistics channel, QuantGrid grid) {
        if (channel.count() < 2 || !(channel.variance() > 0)) {
            return FittedPdfRangeSolver.toGrid(ClipRange.covering(channel.min(), channel.max()), grid);
        }
        boolean oneSided = channel.min() >= 0 || channel.max() <= 0;
        double std;
        double kurtosis;
        double center;
        int bits = grid.bits();
        if (oneSided) {
            double share = (double) channel.count() / (channel.count() - channel.zeros());
            double r2 = channel.rawMoment(2) * share;
            std = Math.sqrt(r2);
            kurtosis = channel.rawMoment(4) * share / (r2 * r2);
            center = 0;
            if (!grid.signed()) {
                bits++;
            }
        } else {
            std = channel.std();
            kurtosis = channel.kurtosis();
            center = channel.mean();
        }
        boolean laplace = kurtosis > 4.5;
        double a = alpha(bits, laplace) * (laplace ? std / Math.sqrt(2) : std);
        double lo = oneSided ? (channel.max() <= 0 ? -a : 0) : center - a;
        double hi = oneSided ? (channel.max() <= 0 ? 0 : a) : center + a;
        lo = Math.max(lo, channel.min());
        hi = Math.min(hi, channel.max());
        return FittedPdfRangeSolver.toGrid(ClipRange.covering(Math.min(lo, hi), Math.max(lo, hi)), grid);
    }
}
