package org.quant4j.quantize;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.quant4j.QuantizationException;

/** Checks that calibration data and parameters are finite. */
public final class FiniteValues {

    private FiniteValues() {
    }

    /**
     * Refuses a graph whose parameters (variables and constants) hold NaN or infinite values: their ranges and
     * every output would be meaningless.
     */
    static void requireFiniteParameters(SameDiff sd) {
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() != VariableType.VARIABLE
                    && v.getVariableType() != VariableType.CONSTANT) {
                continue;
            }
            INDArray arr = v.getArr();
            if (arr == null || !arr.dataType().isFPType()) {
                continue;
            }
            String bad = nonFinite(arr);
            if (bad != null) {
                throw new QuantizationException("parameter '" + v.name() + "' " + java.util.Arrays.toString(arr.shape())
                        + " holds " + bad + "; the network's weights must be finite");
            }
        }
    }

    /** "3 NaN and 1 infinite value(s)", or null when every value is finite (or the array is not floating point). */
    public static String nonFinite(INDArray arr) {
        if (arr == null || !arr.dataType().isFPType() || arr.isEmpty()) {
            return null;
        }
        long nan = Nd4j.getExecutioner().exec(
                new MatchCondition(arr,
                        Conditions.isNan())).getLong(0);
        long inf = Nd4j.getExecutioner().exec(
                new MatchCondition(arr,
                        Conditions.isInfinite())).getLong(0);
        return nan == 0 && inf == 0 ? null : nan + " NaN and " + inf + " infinite value(s)";
    }
}
