package org.quant4j.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarRenderer;
import me.tongfei.progressbar.ProgressBarStyle;
import me.tongfei.progressbar.ProgressState;

/**
 * Progress bars for long steps, with ETA. On a terminal: a redrawn bar (me.tongfei progressbar, ASCII style). Not on a
 * terminal (CI logs, pipes, tests): one plain line at every tenth of the work, e.g.
 * {@code calibration: 30% (3/10 batches), 2 s elapsed, ETA 5 s}, so logs stay readable.
 */
public final class Progress {

    private final PrintStream out;
    private final boolean terminal;

    /** Bars on {@code out}; redrawn when {@code terminal}, plain lines otherwise. */
    public Progress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** Bars on standard error, redrawn only when the JVM has a console. */
    public static Progress onStandardError() {
        return new Progress(System.err, System.console() != null);
    }

    /** A bar for {@code total} units of {@code unit}; close it when done. */
    public ProgressBar start(String task, long total, String unit) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII).setUnit(" " + unit, 1);
        if (terminal) {
            b.setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(out));
        } else {
            b.setRenderer(new TenthsRenderer(unit)).setConsumer(new LineConsumer(out)).setUpdateIntervalMillis(200);
        }
        return b.build();
    }

    /** {@code data}, stepping {@code bar} for every batch pulled from it. */
    public org.nd4j.linalg.dataset.api.iterator.DataSetIterator counting(
            org.nd4j.linalg.dataset.api.iterator.DataSetIterator data, ProgressBar bar) {
        return new CountingIterator(data, bar);
    }

    /** Renders a line when the progress reaches a new tenth (and once at the end); empty otherwise. */
    static final class TenthsRenderer implements ProgressBarRenderer {
        private final String unit;
        private long lastTenth = -1;

        TenthsRenderer(String unit) {
            this.unit = unit;
        }

        @Override
        public synchronized String render(ProgressState p, int maxLength) {
            long max = p.getMax();
            long current = p.getCurrent();
            long tenth = max > 0 ? Math.min(10, current * 10 / max) : 0;
            if (current == 0 || tenth <= lastTenth) {
                return "";
            }
            lastTenth = tenth;
            Duration elapsed = p.getElapsedAfterStart();
            String eta = "";
            if (max > 0 && current < max) {
                long etaSeconds = elapsed.toMillis() * (max - current) / current / 1000;
                eta = ", ETA " + seconds(etaSeconds);
            }
            return String.format(Locale.ROOT, "%s: %d%% (%d/%d %s), %s elapsed%s", p.getTaskName(),
                    max > 0 ? current * 100 / max : 0, current, max, unit, seconds(elapsed.toSeconds()), eta);
        }

        private static String seconds(long s) {
            return s < 120 ? s + " s" : (s / 60) + " min " + (s % 60) + " s";
        }
    }

    /** Prints every non-empty rendering as its own line. */
    static final class LineConsumer implements ProgressBarConsumer {
        private final PrintStream out;

        LineConsumer(PrintStream out) {
            this.out = out;
        }

        @Override
        public int getMaxRenderedLength() {
            return 200;
        }

        @Override
        public void accept(String rendered) {
            if (rendered != null && !rendered.isEmpty()) {
                out.println(rendered);
                out.flush();
            }
        }

        @Override
        public void close() {
        }
    }
}
