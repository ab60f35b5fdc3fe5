package org.quant4j.range;

import java.math.BigDecimal;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.Histogram;

/**
 * Clips at a percentile of the histogram (name "percentile-P", e.g. "percentile-99.99").
 *
 * <p>Signed grid: {@code a} is the P-th percentile of {@code |x|} (from the exactly folded histogram), so that
 * P % of the values lie in {@code [-a, a]}; range {@code ±a}. Unsigned grid: the P-th percentile of x, range
 * {@code [0, max(q, 0)]}. Linear inside a bin; never wider than the observed extremes.
 */
public final class PercentileSolver implements RangeSolver {

    private final double percentile;
    private final String name;

    /** @param percentile P in (0, 100], e.g. 99.99 */
    public PercentileSolver(double percentile) {
        if (!(percentile > 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100], got " + percentile);
        }
        this.percentile = percentile;
        this.name = "percentile-" + BigDecimal.valueOf(percentile).stripTrailingZeros().toPlainString();
    }

    public double percentile() {
        return percentile;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public ClipRange solve(ChannelStatistics channel, QuantGrid grid) {
        Histogram h = channel.histogram();
        double p = percentile / 100;
        if (grid.signed()) {
            double observed = Math.max(Math.abs(channel.min()), Math.abs(channel.max()));
            double a = Math.min(h.foldMagnitudes().quantile(p), observed);
            return ClipRange.symmetric(a);
        }
        double q = Math.min(h.quantile(p), channel.max());
        return new ClipRange(0, Math.max(0, q));
    }
}
