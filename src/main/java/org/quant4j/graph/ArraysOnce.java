package org.quant4j.graph;

import org.nd4j.autodiff.samediff.ArrayHolder;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.array.SingleThreadArrayHolder;

/**
 * Makes a SameDiff graph keep each of its constants and variables once. SameDiff M2.1 stores them in
 * {@code ThreadSafeArrayHolder}s, which keep a per-device copy beside the array they hand out: every constant costs
 * twice its size in native memory (ArraysOnceMemoryTest: a 64 MB constant raises the resident set by its size again
 * while the holder hands out the very array given to it; with plain holders, by nothing). quant4j's graphs never
 * change their arrays while they run and hand each array to every thread as it is, so plain holders do: a converted
 * VGG16 keeps 512 MB of weights instead of 1 GB.
 */
public final class ArraysOnce {

    private ArraysOnce() {
    }

    /**
     * Moves {@code sd}'s arrays into plain holders (the same array objects; the per-device copies are dropped) and
     * returns {@code sd}. Best called on a new graph before its large arrays are set, so that no copy is made at all.
     */
    public static SameDiff keep(SameDiff sd) {
        if (sd.getConstantArrays() instanceof SingleThreadArrayHolder
                && sd.getVariablesArrays() instanceof SingleThreadArrayHolder) {
            return sd;
        }
        ArrayHolder constants = new SingleThreadArrayHolder();
        constants.initFrom(sd.getConstantArrays());
        ArrayHolder variables = new SingleThreadArrayHolder();
        variables.initFrom(sd.getVariablesArrays());
        sd.setArrayHolders(variables, constants, false);
        return sd;
    }
}
