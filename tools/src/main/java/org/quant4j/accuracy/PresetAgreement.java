package org.quant4j.accuracy;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.reference.ReferenceNetwork;

/**
 * The 4-bit preset (W4A8, {@link QuantizationOptions#fourBit()}) of each reference network named, calibrated on 512
 * training images (seed 42) from {@code models/}: the int8 runtime against the fake-quant graph, top-1 on the 10,000
 * test images (docs/ACCURACY.md, "The 4-bit preset").
 *
 * <p>{@code java -cp "tools/target/quant4j-tools.jar:tools/target/lib/*" org.quant4j.accuracy.PresetAgreement NET...}
 */
public final class PresetAgreement {

    private PresetAgreement() {
    }

    public static void main(String[] args) throws java.io.IOException {
        Datasets data = Datasets.fromEnvironment();
        for (String id : args) {
            ReferenceNetwork net = Arrays.stream(ReferenceNetwork.values()).filter(n -> n.id().equals(id))
                    .findFirst().orElseThrow(() -> new IllegalArgumentException("unknown network '" + id + "'"));
            Model model = ReferenceTraining.load(net, Path.of("models"));
            LabeledImages calibration = data.calibrationSet(net.dataset(), AccuracyStudy.CALIBRATION_IMAGES,
                    AccuracyStudy.SEED);
            LabeledImages test = data.evaluationSet(net.dataset());
            QuantizationOptions o = QuantizationOptions.fourBit().calibrationBatches(Integer.MAX_VALUE).build();
            QuantizedModel q = model instanceof MultiLayerNetwork m ? Quantizer.quantize(m, calibration.iterator(128), o)
                    : Quantizer.quantize((ComputationGraph) model, calibration.iterator(128), o);
            int same = 0;
            for (int from = 0; from < test.size(); from += BATCH) {
                INDArray x = test.features().get(NDArrayIndex.interval(from, Math.min(test.size(), from + BATCH)))
                        .dup();
                INDArray fake = q.outputs(QuantizedModel.Execution.FAKE_QUANT, x)[0].argMax(1);
                INDArray int8 = q.outputs(QuantizedModel.Execution.INT8, x)[0].argMax(1);
                for (int i = 0; i < fake.length(); i++) {
                    same += fake.getLong(i) == int8.getLong(i) ? 1 : 0;
                }
            }
            System.out.printf(Locale.ROOT, "%s W4A8 preset: int8 top-1 agrees with fake-quant on %d of %d test images"
                    + " (%.2f %%)%n", id, same, test.size(), 100.0 * same / test.size());
        }
    }

    private static final int BATCH = 500;
}
