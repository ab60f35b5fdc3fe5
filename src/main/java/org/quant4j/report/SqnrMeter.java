package org.quant4j.report;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.nd4j.DoubleScratch;
import org.quant4j.nd4j.NativeArrays;

/** Accumulates signal power and noise power over batches: {@code SQNR = 10 log10(sum x^2 / sum (x - x_q)^2)}. */
public final class SqnrMeter {

    private double signal;
    private double noise;

    /** Adds one batch of reference values and their quantized counterparts (same shape). */
    public void add(INDArray reference, INDArray quantized) {
        java.util.List<INDArray> rs = NativeArrays.channelBlocks(reference, -1);
        java.util.List<INDArray> qs = NativeArrays.channelBlocks(quantized, -1);
        try (DoubleScratch scratch = new DoubleScratch(2)) { // freed after this batch: meters are many
            for (int i = 0; i < rs.size(); i++) {
                addBlock(rs.get(i), qs.get(i), scratch);
            }
        }
    }

    /**
     * One block of rows, in double, in two scratch arrays reused from block to block ({@link DoubleScratch}): the
     * products and differences are made in place.
     */
    private void addBlock(INDArray reference, INDArray quantized, DoubleScratch scratch) {
        INDArray r = scratch.copy(0, reference);
        INDArray diff = scratch.copy(1, quantized);
        diff.rsubi(r); // r - q
        diff.muli(diff);
        noise += diff.sumNumber().doubleValue();
        r.muli(r);
        signal += r.sumNumber().doubleValue();
    }

    /** The SQNR in dB over everything added; +Infinity when there was no noise. */
    public double sqnrDb() {
        if (noise == 0) {
            return Double.POSITIVE_INFINITY;
        }
        return 10 * Math.log10(signal / noise);
    }
}
