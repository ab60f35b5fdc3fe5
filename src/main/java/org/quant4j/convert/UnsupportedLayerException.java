package org.quant4j.convert;

import org.quant4j.QuantizationException;

/** A layer, vertex, preprocessor or setting that the converter cannot translate into SameDiff. */
public final class UnsupportedLayerException extends QuantizationException {

    public UnsupportedLayerException(String message) {
        super(message);
    }
}
