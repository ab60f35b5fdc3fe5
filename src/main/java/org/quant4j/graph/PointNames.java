package org.quant4j.graph;

/**
 * The names quantization gives the variables it adds to a graph: what {@link FakeQuantRewriter} writes and the
 * integer runtime reads (it finds a quantization point's ops, a weight's integer levels and the islands' inputs by
 * these names alone, so this class is the one place that spells them). For a tensor {@code t}:
 * <ul>
 * <li>an activation point: {@code t:scale} (the scales {@code s}, a constant), {@code t:scaled} ({@code t / s}),
 * {@code t:q} (the levels {@code clip(rint(t / s), qmin, qmax)}) and {@code t:fq} ({@code t:q * s}, what the
 * quantized readers of {@code t} read); with zero points also {@code t:zp} (the zero points {@code z}, a constant),
 * {@code t:shifted} ({@code rint(t / s) + z}, what {@code t:q} clips) and {@code t:centred} ({@code t:q - z}, what
 * {@code t:fq} multiplies by {@code s});</li>
 * <li>a weight {@code W}: {@code W:q} (its integer levels, an INT8 constant, with the input scales {@code s_x}
 * folded in), {@code W:scale} ({@code s}), {@code W:inscale} ({@code s_x}), {@code W:dq} ({@code cast(W:q) * s})
 * and {@code W:dqi} ({@code W:dq / s_x}, the weight in its own units, what the op reads when there are input
 * scales);</li>
 * <li>an fp32 island's input: the placeholder {@code v#in} standing for variable {@code v} in the graph the
 * runtime's islands run in.</li>
 * </ul>
 * A suffix follows the last {@code ':'} of a name, so {@link #tensorOf} works for tensor names holding a colon too.
 */
public final class PointNames {

    private static final String SCALE = ":scale";
    private static final String SCALED = ":scaled";
    private static final String LEVELS = ":q";
    private static final String FAKE_QUANT = ":fq";
    private static final String ZERO_POINT = ":zp";
    private static final String SHIFTED = ":shifted";
    private static final String CENTRED = ":centred";
    private static final String INPUT_SCALE = ":inscale";
    private static final String DEQUANTIZED = ":dq";
    private static final String DEQUANTIZED_UNFOLDED = ":dqi";
    private static final String ISLAND_INPUT = "#in";

    private PointNames() {
    }

    /** {@code t:scale}: the scales of an activation point or of a weight. */
    public static String scale(String tensor) {
        return tensor + SCALE;
    }

    /** {@code t:scaled}: an activation divided by its scales, {@code t / s}. */
    public static String scaled(String tensor) {
        return tensor + SCALED;
    }

    /** {@code t:q}: the integer levels of an activation point (computed) or of a weight (stored). */
    public static String levels(String tensor) {
        return tensor + LEVELS;
    }

    /** {@code t:fq}: an activation point's fake-quantized value {@code t:q * s}. */
    public static String fakeQuant(String tensor) {
        return tensor + FAKE_QUANT;
    }

    /** {@code t:zp}: the zero points of an asymmetric activation point. */
    public static String zeroPoint(String tensor) {
        return tensor + ZERO_POINT;
    }

    /** {@code t:shifted}: {@code rint(t / s) + z}, the levels before they are clipped. */
    public static String shifted(String tensor) {
        return tensor + SHIFTED;
    }

    /** {@code t:centred}: {@code t:q - z}, the levels relative to the zero point. */
    public static String centred(String tensor) {
        return tensor + CENTRED;
    }

    /** {@code W:inscale}: the scales {@code s_x} of the activation a weight multiplies, folded into its levels. */
    public static String inputScale(String weight) {
        return weight + INPUT_SCALE;
    }

    /** {@code W:dq}: a weight's levels dequantized, {@code cast(W:q) * s}. */
    public static String dequantized(String weight) {
        return weight + DEQUANTIZED;
    }

    /** {@code W:dqi}: {@code W:dq / s_x}, the input scales folded into the levels divided back out. */
    public static String dequantizedUnfolded(String weight) {
        return weight + DEQUANTIZED_UNFOLDED;
    }

    /** {@code v#in}: the placeholder an fp32 island reads variable {@code v} from. */
    public static String islandInput(String variable) {
        return variable + ISLAND_INPUT;
    }

    /** Whether {@code name} is an activation's {@code :scaled} variable. */
    public static boolean isScaled(String name) {
        return name.endsWith(SCALED);
    }

    /** Whether {@code name} is a point's (or a weight's) {@code :q} levels. */
    public static boolean isLevels(String name) {
        return name.endsWith(LEVELS);
    }

    /** Whether {@code name} is an activation point's {@code :fq} value. */
    public static boolean isFakeQuant(String name) {
        return name.endsWith(FAKE_QUANT);
    }

    /** The tensor a derived name belongs to ({@code t} of {@code t:q}, {@code W} of {@code W:dqi}), or null. */
    public static String tensorOf(String name) {
        int colon = name.lastIndexOf(':');
        return colon < 0 ? null : name.substring(0, colon);
    }
}
