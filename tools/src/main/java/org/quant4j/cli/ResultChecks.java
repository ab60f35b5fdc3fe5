package org.quant4j.cli;

/**
 * Guards on what the command line prints as a result: a NaN or infinite time, accuracy or ratio is not a result.
 * Each check returns the value when it is one, and otherwise throws an {@link IllegalStateException} (exit code 1)
 * that names the result and its value.
 */
public final class ResultChecks {

    private ResultChecks() {
    }

    /** {@code value} when finite. */
    public static double finite(String what, double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalStateException(what + " came out " + value + ", which is not a result");
        }
        return value;
    }

    /** {@code value} when finite and above zero (a time per batch, a ratio of times); {@code hint} says what to do. */
    public static double positive(String what, double value, String hint) {
        if (!(Double.isFinite(value) && value > 0)) {
            throw new IllegalStateException(what + " came out " + value + ", which is not a result: " + hint);
        }
        return value;
    }

    /**
     * An SQNR in dB: finite, or +Infinity (no noise at all: outputs identical); NaN and -Infinity (a reference
     * without signal) are refused.
     */
    public static double sqnr(String what, double db) {
        if (Double.isNaN(db) || db == Double.NEGATIVE_INFINITY) {
            throw new IllegalStateException(what + " came out " + db + " dB, which is not a result"
                    + (Double.isNaN(db) ? "" : " (the reference is all zeros)"));
        }
        return db;
    }

    /** An SQNR as printed: "exact" for +Infinity, else the dB value with two decimals. */
    public static String sqnrText(double db) {
        return db == Double.POSITIVE_INFINITY ? "exact" : String.format(java.util.Locale.ROOT, "%.2f dB", db);
    }
}
