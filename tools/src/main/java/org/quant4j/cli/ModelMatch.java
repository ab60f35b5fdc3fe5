package org.quant4j.cli;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizedModel;
import org.quant4j.graph.TensorSpec;
import org.quant4j.report.LayerSqnr;

/**
 * Whether a quantized model (Q4J) was made from an fp32 network (MODEL): {@code eval}, {@code bench} and
 * {@code report --model} compare the two, which means nothing when the quantized model belongs to another network.
 * The checks, cheapest first: the numbers of inputs and outputs; the input shape a MultiLayerNetwork declares against
 * the one the quantized model records; the layers the quantized model's report names, each of which must be a layer
 * of the same name and type in the network; and one probe batch through both, whose output shapes must agree. A
 * mismatch is a usage error (exit code 2) naming both files. Two networks of the same architecture with different
 * weights pass: {@code eval}'s agreement and output SQNR show that.
 */
final class ModelMatch {

    private static final int LAYERS_NAMED = 8;

    private ModelMatch() {
    }

    /**
     * Returns when {@code q} can be a quantized model of {@code fp32}; else a usage error of {@code command}.
     *
     * @param probe a batch of inputs the quantized model takes (test images, or bench's random inputs)
     */
    static void require(CommonOptions command, Fp32Model fp32, QuantizedModel q, Path q4j, INDArray probe) {
        mismatch(fp32, q, probe).ifPresent(why -> {
            throw command.usage(q4j + " is not a quantized model of " + fp32.name() + ": " + why);
        });
    }

    /** What does not match, or empty. */
    static Optional<String> mismatch(Fp32Model fp32, QuantizedModel q, INDArray probe) {
        if (fp32.inputCount() != q.inputs().size()) {
            return Optional.of("the network takes " + fp32.inputCount() + " inputs, the quantized model "
                    + q.inputs().size());
        }
        if (fp32.outputCount() != q.outputNames().size()) {
            return Optional.of("the network has " + fp32.outputCount() + " outputs, the quantized model "
                    + q.outputNames().size());
        }
        Optional<TensorSpec> declared = fp32.declaredInput();
        TensorSpec recorded = q.inputs().get(0);
        if (declared.isPresent() && !compatible(declared.get().shape(), recorded.shape())) {
            return Optional.of("the network takes inputs of shape " + declared.get().shapeText()
                    + ", the quantized model " + recorded.shapeText());
        }
        Optional<String> layers = layerMismatch(fp32.layerTypes(), q);
        if (layers.isPresent() || fp32.outputCount() != 1) {
            return layers;
        }
        return outputMismatch(fp32, q, probe);
    }

    /** Whether two shapes (-1: any size; null: rank unknown) can describe the same arrays. */
    static boolean compatible(long[] a, long[] b) {
        if (a == null || b == null) {
            return true;
        }
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i] >= 0 && b[i] >= 0 && a[i] != b[i]) {
                return false;
            }
        }
        return true;
    }

    private static Optional<String> layerMismatch(Map<String, String> network, QuantizedModel q) {
        for (LayerSqnr layer : q.report().layers()) {
            String type = network.get(layer.layer());
            if (type == null) {
                return Optional.of("the quantized model has layer '" + layer.layer() + "' (" + layer.type()
                        + "), the network has none of that name (its layers: " + named(network) + ")");
            }
            if (!type.equals(layer.type())) {
                return Optional.of("layer '" + layer.layer() + "' is a " + layer.type() + " in the quantized model, "
                        + "a " + type + " in the network");
            }
        }
        return Optional.empty();
    }

    private static String named(Map<String, String> layers) {
        String first = String.join(", ", layers.keySet().stream().limit(LAYERS_NAMED).toList());
        return layers.size() > LAYERS_NAMED ? first + ", ... " + layers.size() + " in all" : first;
    }

    private static String firstLine(RuntimeException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline).strip();
    }

    /** The probe through both: the network must take it, and give an output of the quantized model's shape. */
    private static Optional<String> outputMismatch(Fp32Model fp32, QuantizedModel q, INDArray probe) {
        long[] quantized = q.output(probe).shape();
        INDArray reference;
        try {
            reference = fp32.output(probe);
        } catch (RuntimeException e) {
            return Optional.of("the network does not take the quantized model's input of shape "
                    + Arrays.toString(probe.shape()) + " (" + firstLine(e) + ")");
        }
        if (!Arrays.equals(reference.shape(), quantized)) {
            return Optional.of("for inputs of shape " + Arrays.toString(probe.shape()) + " the network outputs shape "
                    + Arrays.toString(reference.shape()) + ", the quantized model " + Arrays.toString(quantized));
        }
        return Optional.empty();
    }
}
