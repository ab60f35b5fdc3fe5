package org.quant4j.file;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.clip.ClipByValue;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;
import org.quant4j.InputNormalization;
import org.quant4j.QuantizationOptions;
import org.quant4j.graph.InputNormalizationPass;
import org.quant4j.graph.ModelGraph;
import org.quant4j.graph.PointNames;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.graph.TensorSpec;
import org.quant4j.quantize.FiniteValues;
import org.quant4j.range.QuantGrid;
import org.quant4j.report.LayerSqnr;
import org.quant4j.report.QuantizationReport;

/**
 * What a model file's metadata ({@code quant4j.json}) must satisfy, on its own and against its graph
 * ({@code graph.fb}), before {@link ModelFile#read} returns a model: a hand-edited or damaged file is refused with an
 * error naming the source and the inconsistency, instead of loading and then running wrongly (or crashing in native
 * code). Each rule below is one check; every failure is a {@link QuantizationException}.
 *
 * <p>The metadata on its own ({@link #requireValid}):
 * <ul>
 * <li>every field is present: inputs and outputs (at least one each, names unique), layer outputs, options,
 * quantizations, report;</li>
 * <li>the options are resolved, as a quantized model's are: weight bits 2..8 (not {@code AUTO_WEIGHT_BITS}), bias
 * correction decided;</li>
 * <li>each tensor is quantized at most once, its rank 0 to 32 (ND4J's); its levels have the bits the options give
 * its kind (2..8, what the options and the int8 kernels support); weights are on the signed grid;</li>
 * <li>scales: one for a per-tensor quantization (axis -1), one or more per channel otherwise; every scale, and every
 * input scale of a weight, finite and greater than 0; zero points (asymmetric activations, {@link QuantGrid}) only
 * on activations on the unsigned grid, one per scale, each a level of the grid (checked as the metadata is read),
 * and in the graph: the constant {@code t:zp} holds them and {@code t:q} clips {@code t:shifted}; a point without
 * zero points has no {@code t:zp};</li>
 * <li>an activation has no input, input axis or input scales; a weight's input scales go with an input axis within
 * its rank, and the activation it multiplies is one quantized in the same file.</li>
 * </ul>
 *
 * <p>Against the graph ({@link #requireMatches}):
 * <ul>
 * <li>every op reads and writes variables that the graph holds;</li>
 * <li>every input is a placeholder of the graph, of the same rank and fixed sizes; every output is computed by an op
 * of the graph (not a placeholder or a constant); every layer output is a variable of the graph;</li>
 * <li>every floating-point constant is finite (quantization refuses non-finite weights, so one here is damage);</li>
 * <li>the input normalization the options name ({@link InputNormalization}) is what the graph's constants at its
 * first input compute, value for value; without one, the graph holds none;</li>
 * <li>an activation {@code t} is a variable of the graph, and so are its {@code t:scale} constant, of the shape and
 * values of its scales (so the count of per-channel scales is the graph's channel count), its levels {@code t:q},
 * clipped to its grid's range (its bits and signedness), and {@code t:fq}, read by its consumer ops and no
 * others;</li>
 * <li>a weight {@code W}, whose fp32 values the saved graph no longer holds, has its integer levels {@code W:q}, an
 * integer constant of its rank, as many channels along its axis as it has scales (and along its input axis as input
 * scales), every level within its grid; {@code W:scale} (and {@code W:inscale}) hold its scales (input scales); its
 * consumer ops are those that read {@code W:dqi} (with input scales) or {@code W:dq}.</li>
 * </ul>
 * The int8 runtime takes the scales from the metadata and the fake-quant graph from its constants: these checks make
 * both the same numbers.
 */
final class ModelConsistency {

    private ModelConsistency() {
    }

    /** Refuses metadata that no quant4j model has, without looking at the graph. */
    static void requireValid(ModelFile.Metadata m, String source) {
        Check check = new Check(source, "its quant4j.json is invalid: ");
        if (m.inputs() == null || m.inputs().isEmpty()) {
            throw check.fail("it names no inputs");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < m.inputs().size(); i++) {
            TensorSpec spec = m.inputs().get(i);
            if (spec == null || spec.name() == null || spec.name().isBlank()) {
                throw check.fail("input " + i + " has no name");
            }
            if (!names.add(spec.name())) {
                throw check.fail("input '" + spec.name() + "' is listed twice");
            }
            if (spec.shape() != null && Arrays.stream(spec.shape()).anyMatch(d -> d < -1)) {
                throw check.fail("input '" + spec.name() + "' has the shape " + spec.shapeText()
                        + " (a size is -1, any, or at least 0)");
            }
        }
        requireNames(check, m.outputs(), "output");
        if (m.layerOutputs() == null) {
            throw check.fail("it lacks the layer outputs");
        }
        for (int i = 0; i < m.layerOutputs().size(); i++) {
            ModelGraph.LayerOutput l = m.layerOutputs().get(i);
            if (l == null || l.layer() == null || l.type() == null || l.variable() == null) {
                throw check.fail("layer output " + i + " lacks its layer, type or variable");
            }
        }
        requireResolved(check, m.options());
        requireReport(check, m.report());
        if (m.quantizations() == null) {
            throw check.fail("it lacks the quantizations");
        }
        Map<String, TensorQuantization> byTensor = new HashMap<>();
        for (int i = 0; i < m.quantizations().size(); i++) {
            TensorQuantization t = m.quantizations().get(i);
            if (t == null || t.tensor() == null || t.tensor().isBlank()) {
                throw check.fail("quantization " + i + " names no tensor");
            }
            if (byTensor.putIfAbsent(t.tensor(), t) != null) {
                throw check.fail("'" + t.tensor() + "' is quantized twice");
            }
            requireValid(check, t, m.options());
        }
        for (TensorQuantization t : m.quantizations()) {
            TensorQuantization input = t.input() == null ? null : byTensor.get(t.input());
            if (t.input() != null && (input == null || input.kind() != TensorQuantization.Kind.ACTIVATION)) {
                throw check.fail(name(t) + " multiplies '" + t.input() + "', which is not a quantized activation"
                        + " of this model");
            }
        }
    }

    private static void requireNames(Check check, List<String> names, String what) {
        if (names == null || names.isEmpty()) {
            throw check.fail("it names no " + what + "s");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i) == null || names.get(i).isBlank()) {
                throw check.fail(what + " " + i + " has no name");
            }
            if (!seen.add(names.get(i))) {
                throw check.fail(what + " '" + names.get(i) + "' is listed twice");
            }
        }
    }

    private static void requireResolved(Check check, QuantizationOptions options) {
        if (options == null) {
            throw check.fail("it lacks the options");
        }
        if (options.weightBits() == QuantizationOptions.AUTO_WEIGHT_BITS) {
            throw check.fail("options.weightBits is " + options.weightBits() + " (decided when quantizing); a"
                    + " quantized model's options are resolved: 2..8");
        }
        if (options.biasCorrection() == null) {
            throw check.fail("options.biasCorrection is missing (decided when quantizing); a quantized model's"
                    + " options are resolved");
        }
    }

    private static void requireReport(Check check, QuantizationReport report) {
        if (report == null) {
            throw check.fail("it lacks the report");
        }
        if (report.activationMethod() == null || report.weightMethod() == null || report.granularity() == null) {
            throw check.fail("the report lacks its methods or granularity");
        }
        for (int i = 0; i < report.layers().size(); i++) {
            LayerSqnr l = report.layers().get(i);
            if (l.layer() == null || l.type() == null || l.variable() == null) {
                throw check.fail("the report's layer " + i + " lacks its layer, type or variable");
            }
        }
    }

    /** E.g. "'relu1' (activation)". */
    private static String name(TensorQuantization t) {
        return "'" + t.tensor() + "' (" + (t.kind() == TensorQuantization.Kind.WEIGHT ? "weights" : "activation")
                + ")";
    }

    private static void requireValid(Check check, TensorQuantization t, QuantizationOptions options) {
        if (t.kind() == null || t.grid() == null || t.inputScales() == null) {
            throw check.fail("the quantization of '" + t.tensor() + "' lacks its kind, grid or input scales");
        }
        if (t.rank() < 0 || t.rank() > GraphBufferCheck.MAX_RANK) {
            // Before anything sizes an array by it (the scales' broadcast shape has rank() sizes).
            throw check.fail(name(t) + " has rank " + t.rank() + " (0 to " + GraphBufferCheck.MAX_RANK + ")");
        }
        int bits = t.grid().bits();
        if (bits < 2 || bits > 8) {
            throw check.fail(name(t) + " has " + bits + "-bit levels; quant4j supports 2..8 bits");
        }
        boolean weight = t.kind() == TensorQuantization.Kind.WEIGHT;
        int optionBits = weight ? options.weightBits() : options.activationBits();
        if (bits != optionBits) {
            throw check.fail(name(t) + " has " + bits + "-bit levels but the options give "
                    + (weight ? "weights " : "activations ") + optionBits + " bits");
        }
        if (weight && !t.grid().signed()) {
            throw check.fail(name(t) + " is on the unsigned grid; weights are quantized signed");
        }
        float[] scales = t.scales();
        if (scales.length == 0 || t.perTensor() && scales.length != 1) {
            throw check.fail(name(t) + " has " + scales.length + " scales along axis " + t.axis()
                    + " (one per channel, or one for the tensor: axis -1)");
        }
        requirePositive(check, scales, name(t) + " has scale");
        if (!weight) {
            if (t.input() != null || t.inputAxis() != -1 || t.inputScales().length != 0) {
                throw check.fail(name(t) + " has an input, input axis or input scales, which only weights have");
            }
            return;
        }
        if (t.inputAxis() < -1 || t.inputAxis() >= t.rank()
                || (t.inputAxis() >= 0) != (t.inputScales().length > 0)) {
            throw check.fail(name(t) + " has input axis " + t.inputAxis() + " and " + t.inputScales().length
                    + " input scales (for rank " + t.rank() + "; input scales go with an input axis)");
        }
        requirePositive(check, t.inputScales(), name(t) + " has input scale");
    }

    private static void requirePositive(Check check, float[] values, String what) {
        for (int c = 0; c < values.length; c++) {
            if (!(Float.isFinite(values[c]) && values[c] > 0)) {
                throw check.fail(what + " " + values[c] + " for channel " + c
                        + "; scales are finite and greater than 0");
            }
        }
    }

    /** Refuses metadata that does not describe {@code sd}; {@code m} has passed {@link #requireValid}. */
    /**
     * The input normalization the options name is the one whose constants the graph holds at its (first) input, value
     * for value; without one in the options, the graph holds none. (The graph's constants are what runs; the options
     * say what they are, for reports.)
     */
    private static void requireNormalizationMatches(Check check, ModelFile.Metadata m, SameDiff sd) {
        String input = m.inputs().get(0).name();
        java.util.Optional<float[][]> built = InputNormalizationPass.find(sd, input);
        InputNormalization named = m.options().inputNormalization();
        if (named == null && built.isPresent()) {
            throw check.fail("the graph normalizes input '" + input + "' but options.inputNormalization is missing");
        }
        if (named != null && (built.isEmpty() || !Arrays.equals(built.get()[0], named.offset())
                || !Arrays.equals(built.get()[1], named.multiplier()))) {
            throw check.fail("options.inputNormalization (" + named + ") is not what the graph computes at input '"
                    + input + "' (" + (built.isEmpty() ? "no normalization" : built.get()[0].length + " offsets "
                    + Arrays.toString(Arrays.copyOf(built.get()[0], Math.min(4, built.get()[0].length))) + "...")
                    + ")");
        }
        if (named != null && !sd.hasVariable(InputNormalizationPass.normalizedName(input))) {
            throw check.fail("the graph has no '" + InputNormalizationPass.normalizedName(input) + "'");
        }
    }

    static void requireMatches(ModelFile.Metadata m, SameDiff sd, String source) {
        Check check = new Check(source, "its quant4j.json does not match its graph (graph.fb): ");
        for (SameDiffOp op : sd.getOps().values()) {
            for (List<String> names : Arrays.asList(op.getInputsToOp(), op.getOutputsOfOp())) {
                for (String name : names == null ? List.<String>of() : names) {
                    if (!sd.hasVariable(name)) {
                        throw check.fail("op '" + op.getName() + "' uses '" + name + "', which is not a variable"
                                + " of the graph");
                    }
                }
            }
        }
        for (TensorSpec spec : m.inputs()) {
            SDVariable v = sd.hasVariable(spec.name()) ? sd.getVariable(spec.name()) : null;
            if (v == null || v.getVariableType() != VariableType.PLACEHOLDER) {
                throw check.fail("input '" + spec.name() + "' is not a placeholder of the graph");
            }
            long[] shape = v.getShape();
            if (spec.shape() != null && shape != null && !fits(spec.shape(), shape)) {
                throw check.fail("input '" + spec.name() + "' has the shape " + spec.shapeText()
                        + " but the graph's placeholder " + Arrays.toString(shape));
            }
        }
        requireNormalizationMatches(check, m, sd);
        for (String output : m.outputs()) {
            if (!sd.hasVariable(output)) {
                throw check.fail("output '" + output + "' is not a variable of the graph");
            }
            if (sd.getVariables().get(output).getOutputOfOp() == null) {
                throw check.fail("output '" + output + "' is not computed by the graph (it is a "
                        + sd.getVariable(output).getVariableType().name().toLowerCase(Locale.ROOT) + ")");
            }
        }
        for (ModelGraph.LayerOutput l : m.layerOutputs()) {
            if (!sd.hasVariable(l.variable())) {
                throw check.fail("the output '" + l.variable() + "' of layer '" + l.layer() + "' is not a variable"
                        + " of the graph");
            }
        }
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE) {
                String bad = FiniteValues.nonFinite(v.getArr());
                if (bad != null) {
                    throw check.fail("constant '" + v.name() + "' holds " + bad);
                }
            }
        }
        for (TensorQuantization t : m.quantizations()) {
            if (t.kind() == TensorQuantization.Kind.ACTIVATION) {
                requireActivation(check, t, sd);
            } else {
                requireWeight(check, t, sd);
            }
        }
    }

    /** Whether a spec's shape and a placeholder's have one rank and agree wherever both fix a size. */
    private static boolean fits(long[] spec, long[] placeholder) {
        if (spec.length != placeholder.length) {
            return false;
        }
        for (int i = 0; i < spec.length; i++) {
            if (spec[i] >= 0 && placeholder[i] >= 0 && spec[i] != placeholder[i]) {
                return false;
            }
        }
        return true;
    }

    private static void requireActivation(Check check, TensorQuantization t, SameDiff sd) {
        if (!sd.hasVariable(t.tensor())) {
            throw check.fail(name(t) + " is not a variable of the graph");
        }
        requireValues(check, sd, t, PointNames.scale(t.tensor()), t.scales(), t.scaleShape());
        String levels = PointNames.levels(t.tensor());
        String clip = sd.hasVariable(levels) ? sd.getVariables().get(levels).getOutputOfOp() : null;
        SameDiffOp op = clip == null ? null : sd.getOps().get(clip);
        double[] range = op != null && op.getOp() instanceof ClipByValue c ? c.tArgs() : null;
        if (range == null || range.length != 2 || range[0] != t.grid().qmin() || range[1] != t.grid().qmax()) {
            throw check.fail(name(t) + " has the grid " + t.grid().qmin() + ".." + t.grid().qmax() + " ("
                    + t.grid().bits() + " bits, " + (t.grid().signed() ? "signed" : "unsigned") + ") but the graph"
                    + " clips '" + levels + "' to " + (range == null ? "nothing" : Arrays.toString(range)));
        }
        String zeroPoint = PointNames.zeroPoint(t.tensor());
        if (t.hasZeroPoints()) {
            float[] z = new float[t.zeroPoints().length];
            for (int c = 0; c < z.length; c++) {
                z[c] = t.zeroPoints()[c];
            }
            requireValues(check, sd, t, zeroPoint, z, t.scaleShape());
            if (!List.of(PointNames.shifted(t.tensor())).equals(op.getInputsToOp())) {
                throw check.fail(name(t) + " has zero points but the graph clips " + op.getInputsToOp()
                        + " to '" + levels + "', not '" + PointNames.shifted(t.tensor()) + "'");
            }
        } else if (sd.hasVariable(zeroPoint)) {
            throw check.fail(name(t) + " has no zero points but the graph holds '" + zeroPoint + "'");
        }
        requireConsumers(check, sd, t, PointNames.fakeQuant(t.tensor()));
    }

    private static void requireWeight(Check check, TensorQuantization t, SameDiff sd) {
        String levelsName = PointNames.levels(t.tensor());
        INDArray levels = constant(sd, levelsName);
        if (levels == null || !levels.dataType().isIntType()) {
            throw check.fail(name(t) + " has no integer levels '" + levelsName + "' in the graph");
        }
        long[] shape = levels.shape();
        if (shape.length != t.rank()) {
            throw check.fail(name(t) + " has rank " + t.rank() + " but its levels '" + levelsName + "' the shape "
                    + Arrays.toString(shape));
        }
        if (!t.perTensor() && shape[t.axis()] != t.scales().length) {
            throw check.fail(name(t) + " has " + t.scales().length + " scales but " + shape[t.axis()]
                    + " channels along axis " + t.axis() + " in the graph");
        }
        if (t.inputAxis() >= 0 && shape[t.inputAxis()] != t.inputScales().length) {
            throw check.fail(name(t) + " has " + t.inputScales().length + " input scales but "
                    + shape[t.inputAxis()] + " input channels along axis " + t.inputAxis() + " in the graph");
        }
        if (levels.length() > 0) {
            long min = levels.minNumber().longValue();
            long max = levels.maxNumber().longValue();
            if (min < t.grid().qmin() || max > t.grid().qmax()) {
                throw check.fail(name(t) + " has levels from " + min + " to " + max + ", outside its "
                        + t.grid().bits() + "-bit grid " + t.grid().qmin() + ".." + t.grid().qmax());
            }
        }
        requireValues(check, sd, t, PointNames.scale(t.tensor()), t.scales(), t.scaleShape());
        if (t.inputAxis() >= 0) {
            requireValues(check, sd, t, PointNames.inputScale(t.tensor()), t.inputScales(), t.inputScaleShape());
        }
        requireConsumers(check, sd, t, t.inputAxis() >= 0 ? PointNames.dequantizedUnfolded(t.tensor())
                : PointNames.dequantized(t.tensor()));
    }

    /** The graph's constant {@code name} holds {@code values} in {@code shape} (as its own data type holds them). */
    private static void requireValues(Check check, SameDiff sd, TensorQuantization t, String name, float[] values,
            long[] shape) {
        INDArray constant = constant(sd, name);
        if (constant == null || !constant.dataType().isFPType()) {
            throw check.fail(name(t) + ": the graph has no floating-point constant '" + name + "'");
        }
        if (!Arrays.equals(constant.shape(), shape)) {
            throw check.fail(name(t) + " has " + values.length + " scales, of the shape " + Arrays.toString(shape)
                    + ", but the graph's '" + name + "' has the shape " + Arrays.toString(constant.shape()));
        }
        float[] stored = constant.castTo(DataType.FLOAT).dup('c').data().asFloat();
        float[] expected = Nd4j.createFromArray(values).castTo(constant.dataType()).castTo(DataType.FLOAT).data()
                .asFloat();
        int c = Arrays.mismatch(stored, expected);
        if (c >= 0) {
            throw check.fail(name(t) + " has " + (c < values.length ? values[c] : "none") + " for channel " + c
                    + " but the graph's '" + name + "' holds " + (c < stored.length ? stored[c] : "none"));
        }
    }

    private static void requireConsumers(Check check, SameDiff sd, TensorQuantization t, String read) {
        if (!sd.hasVariable(read)) {
            throw check.fail(name(t) + ": the graph has no '" + read + "'");
        }
        List<String> readers = sd.getVariables().get(read).getInputsForOp();
        Set<String> graphReaders = readers == null ? Set.of() : new TreeSet<>(readers);
        if (!graphReaders.equals(new TreeSet<>(t.consumers()))) {
            throw check.fail(name(t) + " is read by the ops " + t.consumers() + " but in the graph '" + read
                    + "' is read by " + graphReaders);
        }
        for (String consumer : t.consumers()) {
            SameDiffOp op = sd.getOps().get(consumer);
            if (op == null) {
                throw check.fail(name(t) + " is read by op '" + consumer + "', which is not in the graph");
            }
            if (op.getInputsToOp() == null || !op.getInputsToOp().contains(read)) {
                throw check.fail(name(t) + " is read by op '" + consumer + "', which does not read '" + read + "'");
            }
        }
    }

    /** The value of constant {@code name} of {@code sd}, or null when it has none. */
    private static INDArray constant(SameDiff sd, String name) {
        if (!sd.hasVariable(name)) {
            return null;
        }
        SDVariable v = sd.getVariable(name);
        return v.getVariableType() == VariableType.CONSTANT ? v.getArr() : null;
    }

    /** The failures of one set of checks: the source, which kind of problem, then the problem. */
    private record Check(String source, String prefix) {
        QuantizationException fail(String problem) {
            return new QuantizationException(source + ": " + prefix + problem);
        }
    }
}
