package org.quant4j.range;

import java.util.LinkedHashMap;
import java.util.Map;

/** The range solvers by name, as the builder and the command line select them. */
public final class RangeMethods {

    private static final Map<String, RangeSolver> SOLVERS = new LinkedHashMap<>();

    static {
        register(new MinMaxSolver());
    }

    private RangeMethods() {
    }

    private static void register(RangeSolver solver) {
        SOLVERS.put(solver.name(), solver);
    }

    /** The solver called {@code name}; a clear error listing the names when there is none. */
    public static RangeSolver byName(String name) {
        RangeSolver solver = SOLVERS.get(name);
        if (solver == null) {
            throw new IllegalArgumentException("unknown range method '" + name + "' (known: "
                    + String.join(", ", SOLVERS.keySet()) + ")");
        }
        return solver;
    }

    /** All names, in a stable order. */
    public static java.util.List<String> names() {
        return java.util.List.copyOf(SOLVERS.keySet());
    }
}
