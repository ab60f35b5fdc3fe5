package org.quant4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.graph.ConsumerProbe;
import org.quant4j.graph.FakeQuantRewriter;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.NativeArrays;
import org.quant4j.graph.QuantizableOp;
import org.quant4j.graph.TensorQuantization;

/**
 * Replays quantizations of single points on the calibration's held batches: for each {@link Trial}, the ops that read
 * its point run on their own ({@link ConsumerProbe}): its quantizable consumers and its other readers (a residual add,
 * say, which reads the quantized values as they are), once with the point's fp32 values and fp32 weights (the
 * reference) and once with the trial's fake-quantized values and its consumers' dequantized weights; every other
 * point and weight stays fp32, so each trial measures its own quantization only. The fp32 network runs once per batch
 * for all points.
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

    /**
     * Receives each trial's outputs for one batch, by output variable: its consumers' outputs and its point's
     * {@linkplain ConsumerProbe#otherReaders other readers'}.
     */
    interface Outputs {
        void accept(Trial trial, Map<String, INDArray> reference, Map<String, INDArray> quantized);
    }

    static void run(Calibration calibration, List<Trial> trials, Outputs sink) {
        if (trials.isEmpty()) {
            return;
        }
        ModelGraph fp32 = calibration.fp32Graph();
        ConsumerProbe probe = calibration.probe();
        Map<String, INDArray> weights = new LinkedHashMap<>();
        calibration.ops().forEach(op -> weights.put(op.weight(), fp32.graph().getArrForVarName(op.weight())));
        List<INDArray[]> batches = calibration.heldBatches();
        for (int b = 0; b < batches.size(); b++) {
            Map<String, INDArray> feed = QuantizedModel.feed(fp32.inputs(), batches.get(b),
                    "calibration batch " + b + ": features");
            List<String> computed = probe.points().stream().filter(t -> !feed.containsKey(t)).toList();
            Map<String, INDArray> outputs = computed.isEmpty() ? Map.of()
                    : GraphExecution.output(fp32.graph(), feed, computed);
            Map<String, INDArray> values = new LinkedHashMap<>(); // every point's fp32 values
            probe.points().forEach(t -> values.put(t, feed.containsKey(t) ? feed.get(t) : outputs.get(t)));
            Map<String, Map<String, INDArray>> references = new LinkedHashMap<>();
            for (Trial trial : trials) {
                List<String> measured = measured(probe, trial);
                Map<String, INDArray> reference = references.computeIfAbsent(trial.tensor(),
                        k -> probe.outputs(values, weights, measured));
                Map<String, INDArray> dequantized = new LinkedHashMap<>();
                trial.weights().forEach((w, t) -> dequantized.put(w,
                        FakeQuantRewriter.dequantizedWeights(weights.get(w), t)));
                Map<String, INDArray> trialWeights = new LinkedHashMap<>(weights);
                trialWeights.putAll(dequantized);
                INDArray quantizedPoint = FakeQuantRewriter.fakeQuantized(values.get(trial.tensor()),
                        trial.activation());
                Map<String, INDArray> trialValues = new LinkedHashMap<>(values);
                trialValues.put(trial.tensor(), quantizedPoint);
                sink.accept(trial, reference, probe.outputs(trialValues, trialWeights, measured));
                dequantized.values().forEach(NativeArrays::release); // weight-sized: freed now, not by the GC
                NativeArrays.release(quantizedPoint);
            }
        }
    }

    /** The variables a trial measures: its consumers' outputs, then its point's other readers' outputs. */
    static List<String> measured(ConsumerProbe probe, Trial trial) {
        List<String> measured = new ArrayList<>();
        trial.consumers().forEach(op -> measured.add(op.output()));
        measured.addAll(probe.otherReaders(trial.tensor()));
        return measured;
    }
}
