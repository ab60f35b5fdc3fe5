package org.quant4j.cli.data;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.ViewIterator;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Examples read from a data source: float features of the model's input shape ({@code [N, ...]}) and, when the
 * source has labels, each example's class index.
 *
 * @param source  what they were read from (a data set name or a path), for messages
 * @param features float32 {@code [N, ...]}
 * @param classes each example's class index, or null when the source has no labels
 */
public record LabeledData(String source, INDArray features, int[] classes) {

    public int size() {
        return (int) features.size(0);
    }

    public boolean hasLabels() {
        return classes != null;
    }

    /** Classes the labels name: the largest class index plus one (1 without labels). */
    public int labelClasses() {
        return classes == null ? 1 : Arrays.stream(classes).max().orElse(0) + 1;
    }

    /** The first {@code n} examples (all when there are fewer). */
    public LabeledData first(int n) {
        if (n >= size()) {
            return this;
        }
        return new LabeledData(source, features.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, n)).dup(),
                classes == null ? null : Arrays.copyOf(classes, n));
    }

    /** One-hot labels of {@code numClasses} columns (zeros without labels); an error when a class does not fit. */
    public INDArray oneHot(int numClasses) {
        INDArray labels = Nd4j.zeros(DataType.FLOAT, size(), numClasses);
        if (classes != null) {
            for (int i = 0; i < classes.length; i++) {
                if (classes[i] >= numClasses) {
                    throw new BadDataException(source + ": example " + i + " has class " + classes[i]
                            + ", but the model has " + numClasses + " outputs");
                }
                labels.putScalar(i, classes[i], 1f);
            }
        }
        return labels;
    }

    /** Mini-batches in row order (the last may be smaller), with one-hot labels of {@code numClasses} columns. */
    public DataSetIterator iterator(int batchSize, int numClasses) {
        return new ViewIterator(new DataSet(features, oneHot(numClasses)), batchSize);
    }
}
