package org.quant4j.calib;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.BiFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.quant4j.QuantizationException;

/**
 * The feature arrays of calibration data, one array per network input and batch, from a DL4J
 * {@link DataSetIterator} or {@link MultiDataSetIterator} (reset first when it can be). Labels (and their masks) are
 * ignored; a features mask that masks values out is refused.
 */
public final class FeatureBatches {

    private FeatureBatches() {
    }

    /** Batches of a single-input network's features. */
    public static Iterator<INDArray[]> of(DataSetIterator data) {
        if (data.resetSupported()) {
            data.reset();
        }
        return mapped(data, (batch, index) -> {
            requireNoMask(batch.getFeaturesMaskArray(), index, 0);
            return new INDArray[] {batch.getFeatures()};
        });
    }

    /**
     * Batches of a single-input network's features and their features masks, {@code {features, mask}} (the mask
     * null when a batch has none): what {@link #masked} then turns into a network's feed.
     */
    public static Iterator<INDArray[]> withMasks(DataSetIterator data) {
        if (data.resetSupported()) {
            data.reset();
        }
        return mapped(data, (batch, index) -> new INDArray[] {batch.getFeatures(), batch.getFeaturesMaskArray()});
    }

    /**
     * The feed of a network from {@link #withMasks} batches: with {@code masked}, {@code {features, mask}} (a batch
     * without a mask gets ones, [N, steps]); without, {@code {features}}, a mask that masks values out refused.
     */
    public static Iterator<INDArray[]> masked(Iterator<INDArray[]> withMasks, boolean masked, long steps) {
        return mapped(withMasks, (batch, index) -> {
            if (!masked) {
                requireNoMask(batch[1], index, 0);
                return new INDArray[] {batch[0]};
            }
            INDArray mask = batch[1] != null ? batch[1]
                    : org.nd4j.linalg.factory.Nd4j.ones(batch[0].dataType(), batch[0].size(0), steps);
            return new INDArray[] {batch[0], mask};
        });
    }

    /** Batches of a network's features, one array per input. */
    public static Iterator<INDArray[]> of(MultiDataSetIterator data) {
        if (data.resetSupported()) {
            data.reset();
        }
        return mapped(data, (batch, index) -> {
            INDArray[] masks = batch.getFeaturesMaskArrays();
            for (int i = 0; masks != null && i < masks.length; i++) {
                requireNoMask(masks[i], index, i);
            }
            return batch.getFeatures();
        });
    }

    /**
     * Refuses a features mask that masks anything out: calibration observes every value of a batch, and would take
     * padded time steps for data. A mask of ones only (nothing masked) is accepted.
     */
    private static void requireNoMask(INDArray mask, int batch, int input) {
        if (mask != null && mask.length() > 0 && mask.minNumber().doubleValue() < 1) {
            throw new QuantizationException("calibration batch " + batch + ": features " + input + " carry a mask "
                    + java.util.Arrays.toString(mask.shape()) + " that masks values out; quant4j does not apply masks"
                    + " in calibration yet, so give calibration batches without padding (or cut the padded steps)");
        }
    }

    private static <T> Iterator<INDArray[]> mapped(Iterator<T> source, BiFunction<T, Integer, INDArray[]> features) {
        return new Iterator<>() {
            private int index;

            @Override
            public boolean hasNext() {
                return source.hasNext();
            }

            @Override
            public INDArray[] next() {
                if (!source.hasNext()) {
                    throw new NoSuchElementException();
                }
                return features.apply(source.next(), index++);
            }
        };
    }
}
