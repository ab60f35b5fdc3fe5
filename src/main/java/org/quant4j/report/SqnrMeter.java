package org.quant4j.report;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Accumulates signal power and noise power over batches: {@code SQNR = 10 log10(sum x^2 / sum (x - x_q)^2)}. */
public final class SqnrMeter {

    private double signal;
    private double noise;

    /** Adds one batch of reference values and their quantized counterparts (same shape). */
    public void add(INDArray reference, INDArray quantized) {
        INDArray r = reference.castTo(DataType.DOUBLE);
        INDArray diff = r.sub(quantized.castTo(DataType.DOUBLE));
        signal += r.mul(r).sumNumber().doubleValue();
        noise += diff.mul(diff).sumNumber().doubleValue();
    }

    /** The SQNR in dB over everything added; +Infinity when there was no noise. */
    public double sqnrDb() {
        if (noise == 0) {
            return Double.POSITIVE_INFINITY;
        }
        return 10 * Math.log10(signal / noise);
    }
}
