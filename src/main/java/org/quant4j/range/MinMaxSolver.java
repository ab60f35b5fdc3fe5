package org.quant4j.range;

import org.quant4j.calib.ChannelStatistics;

/** The observed extremes, widened to contain zero: no clipping at all, the coarsest step. */
public final class MinMaxSolver implements RangeSolver {

    @Override
    public String name() {
        return "minmax";
    }

    @Override
    public ClipRange solve(ChannelStatistics channel, QuantGrid grid) {
        return ClipRange.covering(channel.min(), channel.max());
    }
}
