package org.quant4j.data;

import java.nio.file.Path;
import java.util.List;

/** The calibration photos are not in the cache and could not be fetched; the message says how to install them. */
public final class PhotosUnavailableException extends RuntimeException {

    private final Path directory;

    PhotosUnavailableException(Path directory, List<String> missing, String reason, Throwable cause) {
        super("photos unavailable in " + directory.toAbsolutePath() + " (missing: " + String.join(", ", missing)
                + "): " + reason + ". Install them with scripts/fetch-datasets.sh photos (Debian packages "
                + String.join(" and ", Photos.PACKAGES) + " via apt-get download + dpkg-deb -x, no root needed),"
                + " or point -D" + Datasets.DATA_DIR_PROPERTY + " / " + Datasets.DATA_DIR_ENV
                + " at a cache that holds photos/", cause);
        this.directory = directory;
    }

    /** Where the photos were expected. */
    public Path directory() {
        return directory;
    }
}
