package org.quant4j.graph;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;

/**
 * Keeps op names apart from variable names. SameDiff names ops after their type ({@code relu}, {@code relu_1}) and
 * variables as asked, so a layer called "relu" can give an op and a variable the same name; SameDiff's copy
 * ({@code dup}) and its FlatBuffers round trip then wire the graph wrongly. Renaming the clashing ops fixes that.
 */
public final class OpNames {

    private OpNames() {
    }

    /** The first op whose name is also a variable's name, or null when there is none. */
    public static String firstClash(SameDiff sd) {
        for (String op : sd.getOps().keySet()) {
            if (sd.getVariables().containsKey(op)) {
                return op;
            }
        }
        return null;
    }

    /**
     * A faithful copy of {@code sd}, with distinct op names. When {@code sd} has clashing names, they are renamed for
     * the time of the copy and restored before returning, so that {@code sd} ends as it began.
     */
    public static SameDiff distinctCopy(SameDiff sd) {
        Map<String, String> renames = makeDistinct(sd);
        try {
            SameDiff copy = ArraysOnce.keep(sd.dup());
            makeDistinct(copy);
            return copy;
        } finally {
            if (!renames.isEmpty()) {
                Map<String, SameDiffOp> restored = new LinkedHashMap<>();
                for (Map.Entry<String, SameDiffOp> e : sd.getOps().entrySet()) {
                    String original = renames.getOrDefault(e.getKey(), e.getKey());
                    if (!original.equals(e.getKey())) {
                        rename(sd, e.getValue(), e.getKey(), original);
                    }
                    restored.put(original, e.getValue());
                }
                sd.getOps().clear();
                sd.getOps().putAll(restored);
            }
        }
    }

    /**
     * Renames every op whose name is also a variable's name to {@code <name>:op} (plus a counter if taken).
     *
     * @return new name to old name, for each op renamed
     */
    public static Map<String, String> makeDistinct(SameDiff sd) {
        Map<String, String> renames = new LinkedHashMap<>();
        if (firstClash(sd) == null) {
            return renames;
        }
        Map<String, SameDiffOp> renamed = new LinkedHashMap<>();
        for (Map.Entry<String, SameDiffOp> e : sd.getOps().entrySet()) {
            String name = e.getKey();
            SameDiffOp op = e.getValue();
            if (sd.getVariables().containsKey(name)) {
                String fresh = name + ":op";
                for (int i = 1; sd.getVariables().containsKey(fresh) || sd.getOps().containsKey(fresh)
                        || renamed.containsKey(fresh); i++) {
                    fresh = name + ":op" + i;
                }
                rename(sd, op, name, fresh);
                renames.put(fresh, name);
                name = fresh;
            }
            renamed.put(name, op);
        }
        sd.getOps().clear();
        sd.getOps().putAll(renamed);
        return renames;
    }

    private static void rename(SameDiff sd, SameDiffOp op, String from, String to) {
        op.setName(to);
        op.getOp().setOwnName(to);
        for (String input : nullSafe(op.getInputsToOp())) {
            replaceAll(sd.getVariables().get(input).getInputsForOp(), from, to);
        }
        for (String output : nullSafe(op.getOutputsOfOp())) {
            Variable v = sd.getVariables().get(output);
            if (from.equals(v.getOutputOfOp())) {
                v.setOutputOfOp(to);
            }
        }
        for (Variable v : sd.getVariables().values()) {
            replaceAll(v.getControlDepsForOp(), from, to);
        }
    }

    private static void replaceAll(List<String> names, String from, String to) {
        if (names != null) {
            names.replaceAll(n -> n.equals(from) ? to : n);
        }
    }

    private static List<String> nullSafe(List<String> list) {
        return list == null ? new ArrayList<>() : list;
    }
}
