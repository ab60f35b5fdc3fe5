package org.quant4j.graph;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A fake-quant graph as quant4j's own measurements run it (bias correction, the per-point check, the report): a copy
 * that shares every array with the fake-quant graph, in which each weight's dequantization {@code cast(q) * s / s_x}
 * ({@link FakeQuantRewriter}: the variable {@code <W>:dqi}, or {@code <W>:dq} without input scales) has been computed
 * once, elementwise as the graph's ops compute it, and is held as an fp32 constant. Its outputs are bit-identical to the fake-quant
 * graph's (the same ops compute the same values). A run of the fake-quant graph makes two weight-sized temporaries
 * per weight (the cast and the product: 2 x 411 MB on VGG16's first dense layer); a run of this graph makes none, and
 * it holds the fp32 weights once for as long as it is open.
 *
 * <p>Biases are shared, not copied: a bias corrected in place in either graph is seen by both. Structural changes to
 * the fake-quant graph after the view is made (a bias added) are not.
 */
public final class DequantizedGraph implements AutoCloseable {

    private final ModelGraph graph;
    private final List<INDArray> computed;

    private DequantizedGraph(ModelGraph graph, List<INDArray> computed) {
        this.graph = graph;
        this.computed = computed;
    }

    /** The view of {@code quantized}: one weight dequantized at a time, so that one weight's temporaries live at once. */
    public static DequantizedGraph of(ModelGraph quantized) {
        SameDiff copy = GraphCopy.sharingArrays(quantized.graph());
        List<INDArray> computed = new ArrayList<>();
        for (String name : dequantizedWeights(quantized.graph())) {
            INDArray value = dequantized(quantized.graph(), name);
            GraphEditing.replaceWithConstant(copy, name, value);
            computed.add(value);
        }
        return new DequantizedGraph(new ModelGraph(copy, quantized.inputs(), quantized.outputs(),
                quantized.layerOutputs(), quantized.kernelTaps()), computed);
    }

    /** The graph to run. */
    public ModelGraph graph() {
        return graph;
    }

    /** Frees the dequantized weights now (native memory the garbage collector does not see). */
    @Override
    public void close() {
        for (INDArray a : computed) {
            if (a.closeable() && !a.wasClosed()) {
                a.close();
            }
        }
        computed.clear();
    }

    /**
     * The value of {@code name} ({@code <W>:dq} or {@code <W>:dqi}) as the graph's ops compute it, {@code cast(q) * s}
     * then {@code / s_x}, each elementwise in float, but in place: one weight-sized array (the graph's run makes two at
     * once, the cast and the product).
     */
    private static INDArray dequantized(SameDiff sd, String name) {
        String weight = PointNames.tensorOf(name);
        INDArray levels = sd.getArrForVarName(PointNames.levels(weight));
        INDArray cast = levels.castTo(sd.getVariable(name).dataType());
        INDArray value = cast == levels ? levels.dup() : cast; // scaled in place below: never the graph's own
        value.muli(sd.getArrForVarName(PointNames.scale(weight)));
        if (name.equals(PointNames.dequantizedUnfolded(weight))) {
            value.divi(sd.getArrForVarName(PointNames.inputScale(weight)));
        }
        return value;
    }

    /**
     * The variables of {@code sd} that dequantize a weight's integer levels: for every INT8/INT16 levels constant
     * {@code <W>:q}, {@code <W>:dqi} when the graph computes it, else {@code <W>:dq}.
     */
    static List<String> dequantizedWeights(SameDiff sd) {
        List<String> names = new ArrayList<>();
        for (Variable v : sd.getVariables().values()) {
            String name = v.getName();
            if (v.getOutputOfOp() != null || !PointNames.isLevels(name)) {
                continue;
            }
            String weight = PointNames.tensorOf(name);
            for (String candidate : List.of(PointNames.dequantizedUnfolded(weight), PointNames.dequantized(weight))) {
                Variable d = sd.getVariables().get(candidate);
                if (d != null && d.getOutputOfOp() != null) {
                    names.add(candidate);
                    break;
                }
            }
        }
        return names;
    }
}
