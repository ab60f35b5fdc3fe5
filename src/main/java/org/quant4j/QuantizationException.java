package org.quant4j;

/**
 * A quantization request that cannot be carried out: bad calibration data, an unsupported layer, an unreadable
 * model file. The message always says what is wrong and where (layer, tensor, shape, file).
 */
public class QuantizationException extends RuntimeException {

    public QuantizationException(String message) {
        super(message);
    }

    public QuantizationException(String message, Throwable cause) {
        super(message, cause);
    }
}
