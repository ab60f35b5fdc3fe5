package org.quant4j.cli;

/**
 * The log levels of slf4j-simple (the command line's logging binding), set as system properties before ND4J, DL4J
 * or quant4j create their loggers: slf4j-simple reads a logger's level from the properties when the logger is
 * created. Without {@code --verbose} the libraries log warnings and errors only (ND4J errors only); with it, INFO.
 * ND4J's "Duplicate TF op mapping" warnings (logger {@value #IMPORT_MAPPING}) are never shown. A level the user set
 * with {@code -D} is kept.
 */
final class QuietLogging {

    static final String PREFIX = "org.slf4j.simpleLogger.";
    static final String IMPORT_MAPPING = "org.nd4j.imports.converters.ImportClassMapping";

    private QuietLogging() {
    }

    static void configure(boolean verbose) {
        String level = verbose ? "info" : "warn";
        set(PREFIX + "defaultLogLevel", level, verbose);
        set(PREFIX + "log.org.nd4j", verbose ? "info" : "error", verbose);
        set(PREFIX + "log.org.deeplearning4j", level, verbose);
        set(PREFIX + "log.org.quant4j", level, verbose);
        System.setProperty(PREFIX + "log." + IMPORT_MAPPING, "off");
    }

    /** {@code --verbose} overrides the launcher's default level; otherwise a level already set stays. */
    private static void set(String key, String value, boolean override) {
        if (override || System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
