package org.quant4j.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.range.ClipRange;
import org.quant4j.range.FittedPdfRangeSolver;
import org.quant4j.range.QuantGrid;
import org.quant4j.range.RangeMethods;
import org.quant4j.range.RangeSolver;
import org.quant4j.range.pdf.PdfFitter;

/**
 * Solving the clip ranges of 100,000 channels (goal: under 1 s for the patent method). The channels are 64 distinct
 * statistics (Gaussian, Laplace, uniform and Student t3, two-sided and post-ReLU, 4 scales, 4,096 values each)
 * repeated: solvers keep no per-channel cache, so repeats cost the same as distinct channels. The patent method on
 * 100,000 channels; every method on 2,000 channels through {@link RangeSolver#solveAll} (the patent solver runs it
 * in parallel, the others one channel after the other); and, on 200 channels and one thread, the patent solver
 * tabulated, exact, and the exact fit alone (the profile of the exact path). Run the 200-channel ones with
 * {@code -p method=patent}: they do not use the parameter.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
public class SolverBenchmark {

    @Param({"minmax", "percentile-99.99", "entropy", "mse", "aciq", "patent", "patent-ml"})
    String method;

    private ChannelStatistics[] channels;
    private ChannelStatistics[] few;
    private ChannelStatistics[] twoThousand;
    private final FittedPdfRangeSolver patent = new FittedPdfRangeSolver();
    private RangeSolver solver;
    private final QuantGrid grid = new QuantGrid(8, true);

    @Setup(Level.Trial)
    public void setUp() {
        ChannelStatistics[] distinct = new ChannelStatistics[64];
        Random r = new Random(1);
        String[] kinds = {"gauss", "laplace", "uniform", "t3"};
        for (int i = 0; i < distinct.length; i++) {
            float[] v = new float[4096];
            double scale = 0.1 * (1 + i % 4);
            for (int j = 0; j < v.length; j++) {
                double x = switch (kinds[(i / 4) % 4]) {
                    case "gauss" -> r.nextGaussian();
                    case "laplace" -> (r.nextBoolean() ? 1 : -1) * -Math.log(1 - r.nextDouble());
                    case "uniform" -> 2 * r.nextDouble() - 1;
                    default -> r.nextGaussian() / Math.sqrt((Math.pow(r.nextGaussian(), 2) + Math.pow(r.nextGaussian(), 2)
                            + Math.pow(r.nextGaussian(), 2)) / 3);
                };
                v[j] = (float) (scale * (i >= 32 ? Math.max(0, x) : x + 0.05));
            }
            distinct[i] = new ChannelStatistics();
            distinct[i].accept(v);
        }
        channels = new ChannelStatistics[100_000];
        for (int i = 0; i < channels.length; i++) {
            channels[i] = distinct[i % distinct.length];
        }
        twoThousand = new ChannelStatistics[2000];
        System.arraycopy(channels, 0, twoThousand, 0, twoThousand.length);
        patent.solveAll(twoThousand, grid);
        few = new ChannelStatistics[200];
        System.arraycopy(channels, 0, few, 0, few.length);
        solver = RangeMethods.byName(method);
        solver.solveAll(few, grid); // builds the patent solver's tables
    }

    /** 100,000 channels, the patent method (tabulated, parallel). */
    @Benchmark
    public ClipRange[] patent100k() {
        return patent.solveAll(channels, grid);
    }

    /** 2,000 channels with the method of this run (x 50 for 100,000). */
    @Benchmark
    public ClipRange[] solve2000() {
        return solver.solveAll(twoThousand, grid);
    }

    /** The patent method's exact evaluation (the oracle), 200 channels, one thread. */
    @Benchmark
    public ClipRange[] patentExact200() {
        FittedPdfRangeSolver exact = FittedPdfRangeSolver.exact();
        ClipRange[] out = new ClipRange[few.length];
        for (int i = 0; i < few.length; i++) {
            out[i] = exact.solve(few[i], grid);
        }
        return out;
    }

    /** The exact fit alone, 200 channels: how much of the exact path is the fit. */
    @Benchmark
    public Object patentExactFitOnly200() {
        PdfFitter fitter = new PdfFitter();
        Object last = null;
        for (ChannelStatistics c : few) {
            last = fitter.fit(c);
        }
        return last;
    }

    /** The tabulated patent solver, 200 channels, one thread. */
    @Benchmark
    public ClipRange[] patentTabulated200() {
        FittedPdfRangeSolver fast = new FittedPdfRangeSolver();
        ClipRange[] out = new ClipRange[few.length];
        for (int i = 0; i < few.length; i++) {
            out[i] = fast.solve(few[i], grid);
        }
        return out;
    }
}
