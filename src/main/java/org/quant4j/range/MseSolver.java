package org.quant4j.range;

import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.univariate.BrentOptimizer;
import org.apache.commons.math3.optim.univariate.SearchInterval;
import org.apache.commons.math3.optim.univariate.UnivariateObjectiveFunction;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.calib.Histogram;

/**
 * The clip minimizing the histogram's expected quantize-dequantize error (name "mse"), in the manner of PyTorch's
 * {@code HistogramObserver}: no PDF is assumed, only that values are uniform inside a histogram bin.
 *
 * <p>For a clip value a, the grid of the tensor ({@link QuantGrid}: step {@code s = a / qmax}, levels
 * {@code qmin..qmax}, round to nearest) quantizes x to {@code Q(x) = s * clamp(rint(x / s), qmin, qmax)}, and
 * <pre>
 *   MSE(a) = (1 / n) sum_bins (c_i / w) integral_{bin i} (x - Q(x))^2 dx
 * </pre>
 * computed exactly, piece by piece between the rounding boundaries {@code (k ± 1/2) s}
 * ({@code integral_u^v (x - q)^2 dx = ((v - q)^3 - (u - q)^3) / 3}). The search: 200 candidates evenly spread over
 * {@code (0, max |x|]} (signed) or {@code (0, max]} (unsigned), then Commons Math's {@link BrentOptimizer} between
 * the neighbours of the best.
 */
public final class MseSolver implements RangeSolver {

    private static final int CANDIDATES = 200;

    @Override
    public String name() {
        return "mse";
    }

    @Override
    public ClipRange solve(ChannelStatistics channel, QuantGrid grid) {
        Histogram h = channel.histogram();
        HistogramError errors = new HistogramError(h);
        double top = grid.signed() ? Math.max(Math.abs(channel.min()), Math.abs(channel.max())) : channel.max();
        if (!(top > 0)) {
            return FittedPdfRangeSolver.toGrid(ClipRange.covering(channel.min(), channel.max()), grid);
        }
        double best = top;
        double bestE = Double.POSITIVE_INFINITY;
        for (int j = 1; j <= CANDIDATES; j++) {
            double a = top * j / CANDIDATES;
            double e = errors.at(a, grid);
            if (e < bestE) {
                bestE = e;
                best = a;
            }
        }
        double lo = Math.max(top * 1e-6, best - top / CANDIDATES);
        double hi = Math.min(top, best + top / CANDIDATES);
        double found = new BrentOptimizer(1e-8, top * 1e-12).optimize(new MaxEval(200), GoalType.MINIMIZE,
                new SearchInterval(lo, hi, best), new UnivariateObjectiveFunction(a -> errors.at(a, grid)))
                .getPoint();
        if (errors.at(found, grid) < bestE) {
            best = found;
        }
        return grid.signed() ? ClipRange.symmetric(best) : new ClipRange(0, best);
    }

    /** The expected squared error per value of quantizing the histogram with clip a on the grid. */
    public static double expectedError(Histogram h, double a, QuantGrid grid) {
        double s = a / grid.qmax();
        int qmin = grid.qmin();
        int qmax = grid.qmax();
        double w = h.binWidth();
        double total = 0;
        long n = 0;
        for (int i = 0; i < h.bins(); i++) {
            long c = h.count(i);
            if (c == 0) {
                continue;
            }
            double l = h.edge(i);
            double r = l + w;
            total += c / w * binError(l, r, s, qmin, qmax);
            n += c;
        }
        return n == 0 ? 0 : total / n;
    }

    /** integral_l^r (x - Q(x))^2 dx for the clamped uniform quantizer. */
    static double binError(double l, double r, double s, int qmin, int qmax) {
        double sum = 0;
        long kLo = Math.max(qmin, Math.min(qmax, (long) Math.rint(l / s)));
        long kHi = Math.max(qmin, Math.min(qmax, (long) Math.rint(r / s)));
        for (long k = kLo; k <= kHi; k++) {
            double u = k == qmin ? l : Math.max(l, (k - 0.5) * s);
            double v = k == qmax ? r : Math.min(r, (k + 0.5) * s);
            if (v > u) {
                double q = k * s;
                sum += (cube(v - q) - cube(u - q)) / 3;
            }
        }
        return sum;
    }

    private static double cube(double x) {
        return x * x * x;
    }
}
