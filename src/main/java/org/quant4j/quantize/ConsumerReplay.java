package org.quant4j.quantize;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.ConsumerProbe;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.nd4j.NativeArrays;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.InputFeed;

/**
 * Replays quantizations of single points on the calibration's held batches: for each {@link Trial}, the consumers of
 * its point run on their own ({@link ConsumerProbe}) once with the point's fp32 values and their fp32 weights (the
 * reference) and once with the trial's fake-quantized values and dequantized weights; every other point and weight
 * stays fp32, so each trial measures its own quantization only. The fp32 network runs once per batch for all
 * points.
 */
final class ConsumerReplay {

    private ConsumerReplay() {
    }

    /**
     * One point quantized by {@code activation}, its consumers' weights by {@code weights} (by weight name). Trials of
     * the same point have the same consumers.
     */
    record Trial(String tensor, List<QuantizableOp> consumers, TensorQuantization activation,
            Map<String, TensorQuantization> weights) {
    }

    /** Receives each trial's consumer outputs for one batch, by output variable. */
    interface Outputs {
        void accept(Trial trial, Map<String, INDArray> reference, Map<String, INDArray> quantized);
    }

    static void run(ObservedNetwork calibration, List<Trial> trials, Outputs sink) {
        if (trials.isEmpty()) {
            return;
        }
        ModelGraph fp32 = calibration.fp32Graph();
        ConsumerProbe probe = calibration.probe();
        List<INDArray[]> batches = calibration.heldBatches();
        List<String> points = trials.stream().map(Trial::tensor).distinct().toList();
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> feed = InputFeed.of(fp32.inputs(), batches.get(b),
                    "calibration batch " + b + ": features");
            // Point by point, as the fp32 run computes them: a point's value is freed by the run once its readers
            // have run; its consumers' reference outputs, each trial's dequantized weights (weight-sized), quantized
            // input and outputs as soon as the point is done, not left to the garbage collector (native memory it
            // does not see: gigabytes on VGG's dense layers).
            GraphExecution.stream(fp32.graph(), feed, points, (tensor, x) -> replay(fp32, probe, trials, tensor, x,
                    sink));
        }
    }

    /** Every trial of {@code tensor}, whose fp32 value is {@code x}. */
    private static void replay(ModelGraph fp32, ConsumerProbe probe, List<Trial> trials, String tensor, INDArray x,
            Outputs sink) {
        Map<String, INDArray> reference = null;
        for (Trial trial : trials) {
            if (!trial.tensor().equals(tensor)) {
                continue;
            }
            Map<String, INDArray> originals = new LinkedHashMap<>();
            trial.consumers().forEach(op -> originals.put(op.weight(), fp32.graph().getArrForVarName(op.weight())));
            if (reference == null) {
                reference = probe.outputs(tensor, x, trial.consumers(), originals);
            }
            Map<String, INDArray> dequantized = new LinkedHashMap<>();
            trial.weights().forEach((w, t) -> dequantized.put(w,
                    FakeQuantRewriter.dequantizedWeights(originals.get(w), t)));
            INDArray xq = FakeQuantRewriter.fakeQuantized(x, trial.activation());
            Map<String, INDArray> quantized = probe.outputs(tensor, xq, trial.consumers(), dequantized);
            sink.accept(trial, reference, quantized);
            dequantized.forEach((w, d) -> NativeArrays.release(d, originals.get(w)));
            NativeArrays.release(xq, x);
            release(quantized.values(), x);
        }
        if (reference != null) {
            release(reference.values(), x);
        }
    }

    private static void release(java.util.Collection<INDArray> arrays, INDArray kept) {
        java.util.Set<INDArray> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (INDArray a : arrays) {
            if (seen.add(a)) {
                NativeArrays.release(a, kept);
            }
        }
    }
}
