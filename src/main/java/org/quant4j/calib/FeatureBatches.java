package org.quant4j.calib;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

/**
 * The feature arrays of calibration data, one array per network input and batch, from a DL4J
 * {@link DataSetIterator} or {@link MultiDataSetIterator} (reset first when it can be). Labels are ignored.
 */
public final class FeatureBatches {

    private FeatureBatches() {
    }

    /** Batches of a single-input network's features. */
    public static Iterator<INDArray[]> of(DataSetIterator data) {
        if (data.resetSupported()) {
            data.reset();
        }
        return mapped(data, batch -> new INDArray[] {batch.getFeatures()});
    }

    /** Batches of a network's features, one array per input. */
    public static Iterator<INDArray[]> of(MultiDataSetIterator data) {
        if (data.resetSupported()) {
            data.reset();
        }
        return mapped(data, batch -> batch.getFeatures());
    }

    private static <T> Iterator<INDArray[]> mapped(Iterator<T> source, Function<T, INDArray[]> features) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return source.hasNext();
            }

            @Override
            public INDArray[] next() {
                if (!source.hasNext()) {
                    throw new NoSuchElementException();
                }
                return features.apply(source.next());
            }
        };
    }
}
