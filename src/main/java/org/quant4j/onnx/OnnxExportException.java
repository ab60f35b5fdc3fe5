package org.quant4j.onnx;

import org.quant4j.QuantizationException;

/** A graph that cannot be written as ONNX; the message names the op (or point) and why. */
public final class OnnxExportException extends QuantizationException {

    public OnnxExportException(String message) {
        super(message);
    }
}
