package org.quant4j.graph;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.quant4j.QuantizationException;

/**
 * The placeholder feed of a graph from arrays given for its inputs, checked against the inputs' specs: the one
 * boundary that {@code output} and calibration data cross. An array with no examples (a zero-length dimension) is
 * refused with the input named (libnd4j's kernels crash the JVM on empty arrays); integer and boolean arrays (raw
 * pixel bytes, for example) are cast to FLOAT, as DL4J casts its inputs to the network's type (libnd4j's integer
 * division by a scale crashes the JVM); views, F-order and strided arrays are copied to dense C order.
 */
public final class InputFeed {

    private InputFeed() {
    }

    /**
     * Checks that {@code arrays} fit {@code specs} (as many, none null, each shape accepted by {@link
     * TensorSpec#adapt}); returns the feed by placeholder name.
     *
     * @param what what the arrays are, for the error message ("features", "calibration batch 3: features")
     */
    public static Map<String, INDArray> of(List<TensorSpec> specs, INDArray[] arrays, String what) {
        if (arrays.length != specs.size()) {
            throw new QuantizationException("the network has " + specs.size() + " input(s) " + specs
                    + " but " + arrays.length + " " + what + " array(s) were given");
        }
        Map<String, INDArray> feed = new HashMap<>();
        for (int i = 0; i < arrays.length; i++) {
            TensorSpec spec = specs.get(i);
            if (arrays[i] == null) {
                throw new QuantizationException(what + " " + i + " for network input '" + spec.name() + "' is null");
            }
            DataType type = arrays[i].dataType();
            if (!type.isNumerical() && type != DataType.BOOL) {
                throw new QuantizationException(what + " " + i + " for network input '" + spec.name() + "' is of type "
                        + type + " (shape " + Arrays.toString(arrays[i].shape()) + "): give numbers (any floating"
                        + " point or integer type)");
            }
            if (arrays[i].length() == 0) {
                throw new QuantizationException(what + " " + i + " for network input '" + spec.name()
                        + "' holds no values (shape " + Arrays.toString(arrays[i].shape())
                        + "): give at least one example");
            }
            INDArray value = spec.adapt(dense(arrays[i].dataType().isFPType() ? arrays[i]
                    : arrays[i].castTo(DataType.FLOAT)));
            if (value == null) {
                throw new QuantizationException(what + " of shape " + Arrays.toString(arrays[i].shape())
                        + " does not fit network input '" + spec.name() + "' of shape " + spec.shapeText()
                        + " (-1: any size)");
            }
            feed.put(spec.name(), value);
        }
        return feed;
    }

    /**
     * {@code array} itself when it owns a dense C-order buffer, else a copy that does: a view (a slice, a sub-batch)
     * or an F-order or strided array is copied once, so that every kernel reads plain row-major memory.
     */
    static INDArray dense(INDArray array) {
        boolean plain = !array.isView() && array.ordering() == 'c'
                && Shape.hasDefaultStridesForShape(array) && array.offset() == 0;
        return plain ? array : array.dup('c');
    }
}
