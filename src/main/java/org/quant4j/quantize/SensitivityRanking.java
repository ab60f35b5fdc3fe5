package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.quant4j.QuantizationOptions;

/**
 * Ranks the quantized ops of a network by how much each one costs: for every candidate op, the network is quantized
 * with that op (and the ops already kept) left in fp32, and its outputs on the calibration's held batches are
 * compared with fp32's ({@link OutputDivergence#perExample}: KL divergence of softmax outputs, the share of the noise
 * to signal ratio otherwise), summed over the examples. The op whose fp32 version leaves the smallest divergence is
 * the one whose quantization hurts most; it comes first.
 *
 * <p>One quantization and one pass over the held batches per candidate; the validation data is not read, so the
 * ranking and the validation measurements stay apart (as NNCF's accuracy control ranks on a subset).
 */
public final class SensitivityRanking {

    private SensitivityRanking() {
    }

    /** One candidate: the op (its output name, as {@code keepFp32} takes it) and the divergence without it. */
    public record Ranked(String op, double divergence) {
    }

    /** The candidates, most sensitive first. {@code options.keepFp32()} are kept in fp32 throughout. */
    public static List<Ranked> rank(ObservedNetwork observed, QuantizationOptions options, List<String> candidates) {
        List<Ranked> ranked = new ArrayList<>();
        for (String op : candidates) {
            Set<String> kept = new LinkedHashSet<>(options.keepFp32());
            kept.add(op);
            QuantizedNetwork.Whole q = QuantizationPipeline.quantize(observed, options.withKeepFp32(kept));
            double[] byExample = OutputDivergence.perExample(observed.fp32Graph(), List.of(q.graph()),
                    observed.heldBatches())[0];
            double sum = 0;
            for (double d : byExample) {
                sum += d;
            }
            ranked.add(new Ranked(op, sum));
            // Each candidate is a whole quantized graph whose native buffers ND4J frees only when the collector
            // finds its Java objects: without a collection here, ranking the MobileNet-style CNN's 14 layers was
            // killed by the kernel at 10.4 GB resident, with a 6 GB heap.
            System.gc();
        }
        ranked.sort(Comparator.comparingDouble(Ranked::divergence));
        return ranked;
    }
}
