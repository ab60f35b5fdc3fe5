package org.quant4j.data;

import java.nio.file.Path;

/**
 * The contents of an IDX1 label file (magic {@code 0x00000801}): one unsigned byte per example.
 *
 * @param source the file read
 * @param labels one label byte per example (read as unsigned: {@code b & 0xFF})
 */
public record IdxLabels(Path source, byte[] labels) {

    /** Number of labels. */
    public int count() {
        return labels.length;
    }

    /** Unsigned label of example {@code i}. */
    public int label(int i) {
        return labels[i] & 0xFF;
    }
}
