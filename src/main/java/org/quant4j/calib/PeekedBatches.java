package org.quant4j.calib;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Calibration batches whose first batch has been read ahead (a recurrent network is converted for the sequence
 * length of its data); iterating still yields every batch once, the first one first.
 */
public final class PeekedBatches implements Iterator<INDArray[]> {

    private final Iterator<INDArray[]> rest;
    private INDArray[] first;
    private boolean firstTaken;

    private PeekedBatches(Iterator<INDArray[]> source) {
        this.rest = source;
        this.first = source.hasNext() ? source.next() : null;
        this.firstTaken = first == null;
    }

    /** Reads the first batch of {@code source} now. */
    public static PeekedBatches of(Iterator<INDArray[]> source) {
        return new PeekedBatches(source);
    }

    /** The first batch's arrays (until iteration takes them), or null when there are no batches. */
    public INDArray[] first() {
        return first;
    }

    @Override
    public boolean hasNext() {
        return !firstTaken || rest.hasNext();
    }

    @Override
    public INDArray[] next() {
        if (!firstTaken) {
            firstTaken = true;
            INDArray[] batch = first;
            first = null;
            return batch;
        }
        if (!rest.hasNext()) {
            throw new NoSuchElementException();
        }
        return rest.next();
    }
}
