package org.quant4j.report;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.nd4j.NativeArrays;

/** Accumulates signal power and noise power over batches: {@code SQNR = 10 log10(sum x^2 / sum (x - x_q)^2)}. */
public final class SqnrMeter {

    private double signal;
    private double noise;

    /** Adds one batch of reference values and their quantized counterparts (same shape). */
    public void add(INDArray reference, INDArray quantized) {
        java.util.List<INDArray> rs = NativeArrays.rowBlocks(reference);
        java.util.List<INDArray> qs = NativeArrays.rowBlocks(quantized);
        for (int i = 0; i < rs.size(); i++) {
            addBlock(rs.get(i), qs.get(i));
        }
    }

    /**
     * One block of rows, in double. Each temporary is closed at once (its native memory is not the collector's),
     * and the blocks keep them small ({@link NativeArrays#rowBlocks}).
     */
    private void addBlock(INDArray reference, INDArray quantized) {
        INDArray r = reference.castTo(DataType.DOUBLE);
        INDArray q = quantized.castTo(DataType.DOUBLE);
        INDArray diff = r.sub(q);
        NativeArrays.release(q, quantized);
        INDArray r2 = r.mul(r);
        signal += r2.sumNumber().doubleValue();
        NativeArrays.release(r2);
        NativeArrays.release(r, reference);
        INDArray d2 = diff.mul(diff);
        noise += d2.sumNumber().doubleValue();
        NativeArrays.release(d2);
        NativeArrays.release(diff);
    }

    /** The SQNR in dB over everything added; +Infinity when there was no noise. */
    public double sqnrDb() {
        if (noise == 0) {
            return Double.POSITIVE_INFINITY;
        }
        return 10 * Math.log10(signal / noise);
    }
}
