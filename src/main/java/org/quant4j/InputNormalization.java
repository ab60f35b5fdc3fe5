package org.quant4j;

import java.util.Arrays;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;
import org.nd4j.linalg.dataset.api.preprocessor.Normalizer;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerMinMaxScaler;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;

/**
 * An input normalization as plain data: the affine map {@code x' = (x - offset[c]) * multiplier[c]} along axis 1 of
 * the network's input (the features of an {@code [N, F]} input, the channels of an {@code [N, C, H, W]} one), or one
 * offset and multiplier for every value. {@link QuantizationOptions.Builder#inputNormalizer} builds it into the
 * quantized graph at its input, so that the quantized model takes raw data.
 *
 * <p>What DL4J's normalizers compute on features, and their affine maps ({@link #of}); constants in double, the
 * offset and multiplier then rounded to float:
 * <ul>
 * <li>{@code NormalizerStandardize}: {@code (x - mean) / std}, with {@code std} as DL4J holds it (at least
 * {@code Nd4j.EPS_THRESHOLD}, 1e-5; a zero replaced by 1): offset {@code mean}, multiplier {@code 1 / std};</li>
 * <li>{@code NormalizerMinMaxScaler}: {@code (x - min) / (max - min) * (b - a) + a} for the target range
 * {@code [a, b]}: multiplier {@code (b - a) / (max - min)}, offset {@code min - a / multiplier};</li>
 * <li>{@code ImagePreProcessingScaler}: {@code x / (2^maxBits - 1) * (b - a) + a}: one multiplier
 * {@code (b - a) / (2^maxBits - 1)}, offset {@code -a / multiplier}.</li>
 * </ul>
 * The map differs from DL4J's own arithmetic (a division, then a product and a sum) by float rounding only: a few
 * units in the last place. Other normalizers (multi-input ones, VGG16's, user classes) and normalizers that also
 * normalize labels are refused, naming the class.
 *
 * @param normalizer the DL4J class it came from, e.g. {@code NormalizerStandardize}, for reports
 * @param offset     subtracted first: one value per feature or channel, or one for all
 * @param multiplier then multiplied: as many values as {@code offset}, each finite and not zero
 */
public record InputNormalization(String normalizer, float[] offset, float[] multiplier) {

    public InputNormalization {
        if (normalizer == null || normalizer.isBlank()) {
            throw new IllegalArgumentException("an input normalization needs the name of its normalizer");
        }
        if (offset == null || multiplier == null || offset.length == 0 || offset.length != multiplier.length) {
            throw new IllegalArgumentException("input normalization " + normalizer + ": offset and multiplier must"
                    + " have the same, non-zero number of values, got " + (offset == null ? "none" : offset.length)
                    + " and " + (multiplier == null ? "none" : multiplier.length));
        }
        for (int i = 0; i < offset.length; i++) {
            if (!Float.isFinite(offset[i]) || !Float.isFinite(multiplier[i]) || multiplier[i] == 0) {
                throw new IllegalArgumentException("input normalization " + normalizer + ": value " + i
                        + " has offset " + offset[i] + " and multiplier " + multiplier[i]
                        + " (each must be finite, the multiplier not zero)");
            }
        }
        offset = offset.clone();
        multiplier = multiplier.clone();
    }

    /**
     * The affine map of a DL4J normalizer's feature transform; a {@link QuantizationException} naming the class for a
     * normalizer this cannot express (see the class comment), one that also normalizes labels, or one not fitted.
     */
    public static InputNormalization of(Normalizer<?> normalizer) {
        if (normalizer == null) {
            throw new IllegalArgumentException("the normalizer is null");
        }
        String name = normalizer.getClass().getSimpleName();
        if (normalizer.getClass() == NormalizerStandardize.class) {
            NormalizerStandardize s = (NormalizerStandardize) normalizer;
            requireFeaturesOnly(s.isFitLabel(), name);
            double[] mean = values(() -> s.getMean(), name, "mean");
            double[] std = values(() -> s.getStd(), name, "std");
            float[] offset = new float[mean.length];
            float[] multiplier = new float[mean.length];
            for (int i = 0; i < mean.length; i++) {
                double sd = std[i] == 0 ? 1 : std[i]; // as StandardizeStrategy.filteredStd
                offset[i] = (float) mean[i];
                multiplier[i] = (float) (1 / sd);
            }
            return new InputNormalization(name, offset, multiplier);
        }
        if (normalizer.getClass() == NormalizerMinMaxScaler.class) {
            NormalizerMinMaxScaler m = (NormalizerMinMaxScaler) normalizer;
            requireFeaturesOnly(m.isFitLabel(), name);
            double[] min = values(() -> m.getMin(), name, "min");
            double[] max = values(() -> m.getMax(), name, "max");
            double span = m.getTargetMax() - m.getTargetMin();
            float[] offset = new float[min.length];
            float[] multiplier = new float[min.length];
            for (int i = 0; i < min.length; i++) {
                double k = span / (max[i] - min[i]);
                offset[i] = (float) (min[i] - m.getTargetMin() / k);
                multiplier[i] = (float) k;
            }
            return new InputNormalization(name, offset, multiplier);
        }
        if (normalizer.getClass() == ImagePreProcessingScaler.class) {
            ImagePreProcessingScaler s = (ImagePreProcessingScaler) normalizer;
            requireFeaturesOnly(s.isFitLabel(), name);
            double k = (s.getMaxRange() - s.getMinRange()) / s.getMaxPixelVal();
            return new InputNormalization(name, new float[] {(float) (-s.getMinRange() / k)},
                    new float[] {(float) k});
        }
        throw new QuantizationException("input normalizer " + normalizer.getClass().getName() + " is not supported:"
                + " quant4j builds in NormalizerStandardize, NormalizerMinMaxScaler and ImagePreProcessingScaler"
                + " (feature normalization only); apply this one to the data yourself");
    }

    private static void requireFeaturesOnly(boolean fitLabel, String name) {
        if (fitLabel) {
            throw new QuantizationException("input normalizer " + name + " also normalizes labels (fitLabel): the"
                    + " quantized model's outputs would still need reverting; quant4j builds in feature"
                    + " normalization only");
        }
    }

    private static double[] values(java.util.function.Supplier<INDArray> getter, String name, String what) {
        INDArray stat;
        try {
            stat = getter.get();
        } catch (NullPointerException e) { // DL4J's getters dereference the statistics of an unfitted normalizer
            stat = null;
        }
        if (stat == null) {
            throw new QuantizationException("input normalizer " + name + " has no " + what + ": it was never fitted");
        }
        double[] v = stat.castTo(DataType.DOUBLE).data().asDouble();
        if (v.length == 0 || v.length != stat.length()) {
            throw new QuantizationException("input normalizer " + name + ": its " + what + " holds no values");
        }
        return v;
    }

    /** How many values: the features or channels it normalizes, or 1 for one map of every value. */
    public int size() {
        return offset.length;
    }

    /** E.g. "NormalizerStandardize (3 channels or features)" or "ImagePreProcessingScaler (one map for all values)". */
    public String description() {
        return normalizer + (size() == 1 ? " (x - " + offset[0] + ") * " + multiplier[0]
                : String.format(Locale.ROOT, " (per feature or channel, %d values)", size()));
    }

    /** A copy of the offsets. */
    @Override
    public float[] offset() {
        return offset.clone();
    }

    /** A copy of the multipliers. */
    @Override
    public float[] multiplier() {
        return multiplier.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputNormalization n && n.normalizer.equals(normalizer) && Arrays.equals(n.offset, offset)
                && Arrays.equals(n.multiplier, multiplier);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * normalizer.hashCode() + Arrays.hashCode(offset)) + Arrays.hashCode(multiplier);
    }

    @Override
    public String toString() {
        return description();
    }
}
