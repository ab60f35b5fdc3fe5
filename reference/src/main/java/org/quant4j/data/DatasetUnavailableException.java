package org.quant4j.data;

import java.nio.file.Path;
import java.util.List;

/**
 * A data set's files are not in the local cache and could not be fetched (fetching disabled, a tool
 * missing, the package registry unreachable, or a timeout). The message names the data set, the
 * directory looked in, the missing files, the commands to get them by hand, and how to point quant4j
 * at another directory.
 */
public final class DatasetUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final Dataset dataset;
    private final transient Path directory;
    private final List<String> missingFiles;

    /**
     * @param dataset the data set asked for
     * @param directory the cache directory looked in
     * @param missingFiles names of the files not found there
     * @param reason why they were not fetched
     * @param cause the underlying error, if any
     */
    public DatasetUnavailableException(Dataset dataset, Path directory, List<String> missingFiles, String reason,
                                       Throwable cause) {
        super(message(dataset, directory, missingFiles, reason), cause);
        this.dataset = dataset;
        this.directory = directory;
        this.missingFiles = List.copyOf(missingFiles);
    }

    /** The data set asked for. */
    public Dataset dataset() {
        return dataset;
    }

    /** The cache directory looked in. */
    public Path directory() {
        return directory;
    }

    /** Names of the files not found. */
    public List<String> missingFiles() {
        return missingFiles;
    }

    private static String message(Dataset dataset, Path directory, List<String> missing, String reason) {
        String dir = directory.toAbsolutePath().toString();
        return "Data set " + dataset.directoryName() + " is not available: " + reason + ".\n"
                + "Looked in " + dir + " for " + String.join(", ", dataset.files()) + "; missing: "
                + String.join(", ", missing) + ".\n"
                + "To get the files by hand, run:\n"
                + indent(dataset.manualFetchCommands(dir)) + "\n"
                + "or run scripts/fetch-datasets.sh " + dataset.directoryName() + " from the quant4j source tree.\n"
                + "To use another directory, set -D" + Datasets.DATA_DIR_PROPERTY + "=DIR or the environment variable "
                + Datasets.DATA_DIR_ENV + "=DIR (files are looked for in DIR/" + dataset.directoryName() + "/); "
                + "-D" + Datasets.FETCH_PROPERTY + "=false turns automatic fetching off.";
    }

    private static String indent(String s) {
        return "    " + s.replace("\n", "\n    ");
    }
}
