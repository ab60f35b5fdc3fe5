package org.quant4j.cli;

import java.io.IOException;
import java.util.Objects;
import org.quant4j.InputNormalization;
import org.quant4j.QuantizedModel;
import picocli.CommandLine.Option;

/**
 * {@code --no-normalizer}, a mixin of the commands reading MODEL: a data normalizer saved in the model file is applied
 * unless it is given ({@link Fp32Model}), and one line says which was found and what happens to it.
 */
final class NormalizerOption {

    @Option(names = "--no-normalizer",
            description = "Ignore a data normalizer saved in MODEL (ModelSerializer.addNormalizerToModel): the data is "
                    + "then given as the network takes it, normalized, and the quantized model has none built in "
                    + "(default: apply it; the data is given raw).")
    boolean ignore;

    /**
     * MODEL resolved, its normalizer kept or dropped as asked; prints the normalizer line when it has one. With a
     * normalizer applied, images of an image folder are read as pixel values 0..255 (as {@code --raw-pixels}): the
     * raw data DL4J's image loaders give, which the normalizer was fitted on.
     */
    Fp32Model resolve(CommonOptions c, String spec, int[] zooInput, DataOptions data) throws IOException {
        Fp32Model m = resolve(c, spec, zooInput);
        if (m.normalizer() != null && data != null) {
            data.rawPixels = true;
        }
        return m;
    }

    /** {@link #resolve(CommonOptions, String, int[], DataOptions)} for a command that reads no data. */
    Fp32Model resolve(CommonOptions c, String spec, int[] zooInput) throws IOException {
        Fp32Model m = Fp32Model.resolve(spec, c.seed, zooInput, !ignore);
        if (ignore && Fp32Model.savesNormalizer(spec)) {
            c.main.out.println("normalizer: saved in " + m.name() + ", ignored (--no-normalizer): the data must be"
                    + " given normalized");
        } else if (m.normalizer() != null) {
            c.main.out.println(m.normalizerLine());
        }
        return m;
    }

    /**
     * A warning line when the quantized model's built-in normalizer is not the one applied to the fp32 network, so
     * that the two compared models see different data; null when they agree.
     */
    static String mismatch(Fp32Model fp32, QuantizedModel q, String q4j) {
        InputNormalization built = q.options().inputNormalization();
        InputNormalization applied = fp32.normalization();
        if (Objects.equals(built, applied)) {
            return null;
        }
        if (built == null) {
            return "warning: " + q4j + " has no normalizer built in, but " + fp32.name() + "'s is applied to the fp32"
                    + " network: the quantized model gets the data unnormalized (quantize again without"
                    + " --no-normalizer, or give --no-normalizer and normalized data here)";
        }
        if (applied == null) {
            return "warning: " + q4j + " has a normalizer built in (" + built.description() + "), the fp32 network"
                    + " none: the fp32 network gets the data as given";
        }
        return "warning: " + q4j + "'s normalizer (" + built.description() + ") is not " + fp32.name() + "'s ("
                + applied.description() + ")";
    }
}
