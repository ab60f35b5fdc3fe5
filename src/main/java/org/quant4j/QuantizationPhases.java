package org.quant4j;

import java.util.function.Supplier;

/**
 * The listener of the quantization running on this thread: {@link #listening} installs one for the duration of a
 * call; the pipeline reports each of its phases through {@link #timed}, which costs nothing when none is installed.
 *
 * <pre>{@code
 * QuantizedModel q = QuantizationPhases.listening((phase, nanos) -> log(phase, nanos),
 *         () -> Quantizer.quantize(net, calibration));
 * }</pre>
 */
public final class QuantizationPhases {

    private static final ThreadLocal<QuantizationListener> LISTENER = new ThreadLocal<>();

    private QuantizationPhases() {
    }

    /** Runs {@code work} with {@code listener} told of the phases run on this thread meanwhile; the previous restored. */
    public static <T> T listening(QuantizationListener listener, Supplier<T> work) {
        if (listener == null) {
            throw new IllegalArgumentException("the quantization listener is null");
        }
        QuantizationListener previous = LISTENER.get();
        LISTENER.set(listener);
        try {
            return work.get();
        } finally {
            if (previous == null) {
                LISTENER.remove();
            } else {
                LISTENER.set(previous);
            }
        }
    }

    /** The listener installed on this thread, or null. */
    public static QuantizationListener current() {
        return LISTENER.get();
    }

    /** Runs {@code work} as {@code phase}, telling this thread's listener, if any, when it starts and finishes. */
    public static <T> T timed(QuantizationListener.Phase phase, Supplier<T> work) {
        QuantizationListener listener = LISTENER.get();
        if (listener == null) {
            return work.get();
        }
        listener.started(phase);
        long start = System.nanoTime();
        try {
            return work.get();
        } finally {
            listener.finished(phase, System.nanoTime() - start);
        }
    }

    /** As {@link #timed(QuantizationListener.Phase, Supplier)}, for work without a result. */
    public static void timed(QuantizationListener.Phase phase, Runnable work) {
        timed(phase, () -> {
            work.run();
            return null;
        });
    }
}
