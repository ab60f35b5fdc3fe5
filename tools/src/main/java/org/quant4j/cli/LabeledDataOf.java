package org.quant4j.cli;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.cli.data.LabeledData;
import org.quant4j.data.LabeledImages;

/** A named data set's images as {@link LabeledData}. */
final class LabeledDataOf {

    private LabeledDataOf() {
    }

    static LabeledData images(LabeledImages images) {
        INDArray indices = images.labels().argMax(1);
        int[] classes = new int[images.size()];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = indices.getInt(i);
        }
        return new LabeledData(images.dataset().directoryName(), images.features(), classes);
    }
}
