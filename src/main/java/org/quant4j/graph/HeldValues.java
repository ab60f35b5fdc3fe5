package org.quant4j.graph;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The values a {@link StagedRun} holds at its cuts, one array per batch: in memory up to a budget of bytes, and
 * beyond it in a temporary file, the least recently used first (a U-Net's skip connection, read again only at the
 * other end of the network, goes there; the chain of values being worked on stays in memory). A value in the file is
 * read back one batch at a time, when a run needs it. So the memory the held values take is bounded by the budget
 * plus one batch's value per cut a run reads, whatever the number of batches and the size of the activations; the
 * file takes the rest, and the file is deleted on {@link #close}.
 */
final class HeldValues implements AutoCloseable {

    /** Held-value bytes kept in memory by default. */
    static final long DEFAULT_BUDGET = 64L << 20;

    private final long budget;
    private final Consumer<INDArray[]> closer;
    private final Map<String, Entry> entries = new HashMap<>();
    private long inMemory;
    private long clock;
    private Path path;
    private FileChannel file;
    private long end;

    /** One cut's values: arrays in memory, or their places in the file. */
    private static final class Entry {
        INDArray[] arrays;
        long[] offsets;
        long[][] shapes;
        DataType type;
        long bytes;
        long lastUse;
    }

    /** @param closer frees arrays the run made (not the caller's) */
    HeldValues(long budget, Consumer<INDArray[]> closer) {
        this.budget = budget;
        this.closer = closer;
    }

    boolean contains(String cut) {
        return entries.containsKey(cut);
    }

    /** Holds {@code values} (one per batch) for {@code cut}; values beyond the budget go to the file. */
    void put(String cut, INDArray[] values) {
        Entry e = new Entry();
        e.arrays = values;
        for (INDArray v : values) {
            e.bytes += v.length() * v.dataType().width();
        }
        e.lastUse = ++clock;
        entries.put(cut, e);
        inMemory += e.bytes;
        while (inMemory > budget) {
            Entry oldest = null;
            for (Entry candidate : entries.values()) {
                if (candidate.arrays != null && fitsABuffer(candidate)
                        && (oldest == null || candidate.lastUse < oldest.lastUse)) {
                    oldest = candidate;
                }
            }
            if (oldest == null) {
                break;
            }
            spill(oldest);
        }
    }

    /** Whether each of the entry's arrays fits one NIO buffer (at most 2 GB): those larger stay in memory. */
    private static boolean fitsABuffer(Entry e) {
        for (INDArray v : e.arrays) {
            if (v.length() * v.dataType().width() > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@link #get} reads {@code cut}'s values from the file (each read a new array the caller frees). */
    boolean inFile(String cut) {
        return entries.get(cut).arrays == null;
    }

    /** The value of {@code cut} on batch {@code batch}: the held array, or a new one read from the file. */
    INDArray get(String cut, int batch) {
        Entry e = entries.get(cut);
        e.lastUse = ++clock;
        if (e.arrays != null) {
            return e.arrays[batch];
        }
        INDArray value = Nd4j.createUninitialized(e.type, e.shapes[batch], 'c');
        ByteBuffer bytes = value.data().asNio();
        bytes.position(0).limit((int) (value.length() * e.type.width()));
        try {
            long at = e.offsets[batch];
            while (bytes.hasRemaining()) {
                at += file.read(bytes, at);
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("reading a held value of '" + cut + "' back from " + path, ex);
        }
        return value;
    }

    /** Drops {@code cut}'s values. */
    void remove(String cut) {
        Entry e = entries.remove(cut);
        if (e != null && e.arrays != null) {
            inMemory -= e.bytes;
            closer.accept(e.arrays);
        }
    }

    private void spill(Entry e) {
        try {
            if (file == null) {
                path = Files.createTempFile("quant4j-staged-", ".values");
                file = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                        StandardOpenOption.DELETE_ON_CLOSE);
            }
            e.offsets = new long[e.arrays.length];
            e.shapes = new long[e.arrays.length][];
            e.type = e.arrays[0].dataType();
            for (int b = 0; b < e.arrays.length; b++) {
                INDArray v = e.arrays[b];
                INDArray dense = v.isView() || v.ordering() != 'c' || v.data().length() != v.length()
                        ? v.dup('c') : v;
                ByteBuffer bytes = dense.data().asNio();
                bytes.position(0).limit((int) (dense.length() * e.type.width()));
                e.offsets[b] = end;
                e.shapes[b] = v.shape();
                while (bytes.hasRemaining()) {
                    end += file.write(bytes, end);
                }
                if (dense != v) {
                    closer.accept(new INDArray[] {dense});
                }
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("holding staged values in a temporary file " + path, ex);
        }
        closer.accept(e.arrays);
        e.arrays = null;
        inMemory -= e.bytes;
    }

    /** Frees the values in memory and deletes the file. */
    @Override
    public void close() {
        for (Entry e : entries.values()) {
            if (e.arrays != null) {
                closer.accept(e.arrays);
            }
        }
        entries.clear();
        inMemory = 0;
        if (file != null) {
            try {
                file.close();
                Files.deleteIfExists(path);
            } catch (IOException ex) {
                // the file is marked to be deleted on close already
            }
            file = null;
        }
    }
}
