package org.quant4j.quantize;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.Granularity;
import org.quant4j.QuantizationOptions;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.QuantizableOp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The per-point choices checked as a whole against per-channel scales at every point. */
public final class PerChannelCheck {

    private static final Logger LOG = LoggerFactory.getLogger(PerChannelCheck.class);

    private PerChannelCheck() {
    }

    /**
     * The per-point quantization {@code perPoint} checked as a whole against per-channel scales at every point. Each
     * point's choice is measured with the rest of the network in fp32 ({@link PointChoice#choose}); errors that are small alone
     * can add up, or be amplified by the layers after. So the network with the choices made is compared with the
     * network with per-channel scales everywhere, example by example, by how far their predictions lie from fp32's on
     * the held calibration batches ({@link OutputDivergence}: the Kullback-Leibler divergence of a softmax output).
     * Per-channel scales replace the choices only when they are closer beyond chance ({@link
     * OutputDivergence#significantlyCloser}: a one-sided paired sign-flip test of the summed divergence at 5 %); otherwise the choices
     * stand.
     *
     * <p>Why (docs/ACCURACY.md): at W4A4 the choices alone did worse than per-channel scales everywhere on the
     * ResNet-style CNN, through its stem; at W4A8 on the MobileNet-style CNN better, and the divergence tells these
     * cases apart on the calibration images. The test is what keeps the check from deciding on noise: compared on
     * the same few images their ranges were fitted to, the finer quantization can look closer and generalize worse
     * (the zoo's VGG19, calibrated on 8 photos and checked on 4 of them without the test, lost 4.8 dB on other
     * photos). With fewer than five held examples the test cannot reject, so the choices stand and the check is not
     * made.
     */
    static QuantizationPipeline.Quantized checked(ObservedNetwork calibration, List<QuantizableOp> ops,
            QuantizationOptions options, QuantizationPipeline.Quantized perPoint) {
        QuantizationPipeline.Quantized perChannel = QuantizationPipeline.quantizeGraph(calibration, ops,
                options.withActivationGranularity(Granularity.PER_CHANNEL));
        boolean replace = perChannelReplaces(calibration.fp32Graph(), perChannel.graph(), perPoint.graph(),
                calibration.heldBatches());
        // The graph not kept shares no array with anything (GraphCopy): freed now, not when the collector runs.
        org.quant4j.graph.GraphCopy.release((replace ? perPoint : perChannel).graph().graph());
        return replace ? perChannel : perPoint;
    }

    /**
     * The decision of {@link #checked}: whether the network {@code perChannel} is closer to {@code
     * fp32} than {@code choices} beyond chance on the examples of {@code held} ({@link
     * OutputDivergence#significantlyCloser}). Logged at info level with the divergences and the p-value.
     */
    public static boolean perChannelReplaces(ModelGraph fp32, ModelGraph perChannel, ModelGraph choices,
            List<INDArray[]> held) {
        double[][] divergences = OutputDivergence.perExample(fp32, List.of(perChannel, choices), held);
        double[] channels = divergences[0];
        double[] chosen = divergences[1];
        double p = OutputDivergence.pCloser(channels, chosen);
        boolean replace = p < OutputDivergence.SIGNIFICANCE;
        LOG.info("per-point check on {} held examples: divergence of the choices {}, of per-channel scales "
                + "everywhere {} (one-sided p {}): {}", channels.length,
                String.format("%.4g", java.util.Arrays.stream(chosen).sum()),
                String.format("%.4g", java.util.Arrays.stream(channels).sum()), String.format("%.3g", p),
                replace ? "per-channel scales replace the choices" : "the choices stand");
        return replace;
    }
}
