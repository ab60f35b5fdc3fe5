package org.quant4j.range;

import org.quant4j.calib.ChannelStatistics;

/**
 * Finds the clip range of one channel from the statistics collected during calibration.
 *
 * <p>Collecting and solving are separate steps: observers fill {@link ChannelStatistics} in one streaming
 * pass, then a solver turns each channel's statistics into a {@link ClipRange} for the tensor's
 * {@link QuantGrid}. Solvers are stateless and thread-safe.
 */
public interface RangeSolver {

    /** A short, stable name, used in reports and on the command line (e.g. "minmax"). */
    String name();

    /**
     * The clip range for one channel.
     *
     * @param channel the channel's statistics; {@code channel.count() > 0}
     * @param grid    the grid the channel will be quantized onto (bits, signed or not)
     */
    ClipRange solve(ChannelStatistics channel, QuantGrid grid);

    /**
     * The clip ranges of many channels onto one grid, {@code result[i] = solve(channels[i], grid)}, spread over
     * the common fork-join pool (solvers are stateless, channels independent).
     */
    default ClipRange[] solveAll(ChannelStatistics[] channels, QuantGrid grid) {
        ClipRange[] out = new ClipRange[channels.length];
        java.util.stream.IntStream.range(0, channels.length).parallel().forEach(i -> out[i] = solve(channels[i], grid));
        return out;
    }
}
