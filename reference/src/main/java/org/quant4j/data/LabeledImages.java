package org.quant4j.data;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.ViewIterator;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * Images and labels loaded from one split of a data set, as ND4J arrays.
 *
 * @param dataset the data set they come from
 * @param split the split they come from; calibration must only use {@link Split#TRAIN}
 * @param subset how the examples were chosen
 * @param indices for each row, its index in the split's files
 * @param features float32 NCHW {@code [N, 1, 28, 28]}, pixel / 255 in {@code [0, 1]}
 * @param labels float32 one-hot {@code [N, 10]}
 */
public record LabeledImages(Dataset dataset, Split split, Subset subset, int[] indices, INDArray features,
                            INDArray labels) {

    /** Number of examples. */
    public int size() {
        return indices.length;
    }

    /** Features and labels as one ND4J {@link DataSet} (sharing the arrays, no copy). */
    public DataSet toDataSet() {
        DataSet ds = new DataSet(features, labels);
        ds.setLabelNames(dataset.classNames());
        return ds;
    }

    /**
     * An iterator over mini-batches of {@code batchSize} examples in row order (the last batch may be
     * smaller); batches are views of these arrays, and {@code reset()} is supported.
     */
    public DataSetIterator iterator(int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        return new ViewIterator(toDataSet(), batchSize);
    }

    @Override
    public String toString() {
        return "LabeledImages[" + dataset.directoryName() + " " + split + " " + subset + ", " + size() + " examples]";
    }
}
