package org.quant4j.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DeConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.DepthwiseConv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.shape.Gather;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;

/**
 * Finds the ops of a SameDiff graph that quantization turns into integer ops: 2D convolutions, depthwise 2D
 * convolutions (weights [kH, kW, inC, depthMultiplier] in the YXIO format the converter uses), transposed 2D
 * convolutions ({@code deconv2d}, weights [kH, kW, outC, inC]; fake-quantized, the int8 runtime runs them as fp32
 * islands on the dequantized values), {@code xw_plus_b}
 * (dense layers) and rank-2 matrix products whose second operand is a constant or trainable variable.
 * Works the same on graphs converted from DL4J and on graphs people build by hand.
 */
public final class QuantizableOps {

    private QuantizableOps() {
    }

    /**
     * The quantizable ops, in the graph's op order. Ops whose weight another op reads too are not among them: their
     * weight is quantized on its own ({@link #weightOnly}).
     */
    public static List<QuantizableOp> find(SameDiff sd) {
        List<QuantizableOp> candidates = candidates(sd);
        Map<String, List<QuantizableOp>> byWeight = byWeight(candidates);
        return candidates.stream().filter(op -> byWeight.get(op.weight()).size() == 1).toList();
    }

    /**
     * The weights quantized on their own, weight only ({@link WeightOnly}): those that several otherwise quantizable
     * ops read (a recurrent layer unrolled over its steps), per output channel, and the constant tables that
     * {@code gather} ops read rows of (embeddings), per row.
     */
    public static List<WeightOnly> weightOnly(SameDiff sd) {
        List<WeightOnly> shared = new ArrayList<>();
        Map<String, List<String>> tables = new java.util.LinkedHashMap<>();
        for (SameDiffOp sdo : sd.getOps().values()) {
            List<String> in = sdo.getInputsToOp();
            if (sdo.getOp() instanceof Gather gather && in != null && !in.isEmpty() && isParameter(sd, in.get(0))
                    && gatherAxis(gather) == 0 && sd.getVariable(in.get(0)).getShape() != null
                    && sd.getVariable(in.get(0)).getShape().length == 2) {
                tables.computeIfAbsent(in.get(0), t -> new ArrayList<>()).add(sdo.getName());
            }
        }
        for (Map.Entry<String, List<QuantizableOp>> e : byWeight(candidates(sd)).entrySet()) {
            List<QuantizableOp> readers = e.getValue();
            if (readers.size() > 1 && readers.stream().allMatch(r -> r.type().equals(readers.get(0).type())
                    && r.weightAxis() == readers.get(0).weightAxis())) {
                shared.add(new WeightOnly(e.getKey(), readers.stream().map(QuantizableOp::op).toList(),
                        readers.get(0).type(), readers.get(0).weightAxis()));
            }
        }
        tables.forEach((table, readers) -> shared.add(new WeightOnly(table, readers, "gather", 0)));
        return shared;
    }

    /** The axis a gather op takes along (its integer argument, else its property; 0 when it has neither). */
    private static int gatherAxis(Gather gather) {
        long[] args = gather.iArgs();
        if (args != null && args.length > 0) {
            return (int) args[0];
        }
        Object axis = gather.propertiesForFunction().get("jaxis");
        return axis instanceof Number n ? n.intValue() : 0;
    }

    private static Map<String, List<QuantizableOp>> byWeight(List<QuantizableOp> candidates) {
        Map<String, List<QuantizableOp>> byWeight = new java.util.LinkedHashMap<>();
        for (QuantizableOp op : candidates) {
            byWeight.computeIfAbsent(op.weight(), w -> new ArrayList<>()).add(op);
        }
        return byWeight;
    }

    /** Every op of a quantizable kind reading a constant weight, shared or not, in the graph's op order. */
    private static List<QuantizableOp> candidates(SameDiff sd) {
        List<QuantizableOp> found = new ArrayList<>();
        for (SameDiffOp sdo : sd.getOps().values()) {
            DifferentialFunction op = sdo.getOp();
            List<String> in = sdo.getInputsToOp();
            if (in == null || in.size() < 2 || !isParameter(sd, in.get(1)) || isParameter(sd, in.get(0))) {
                continue;
            }
            if (op instanceof Conv2D conv) {
                int activationAxis = ConvolutionArgs.nhwc(conv) ? 3 : 1;
                WeightsFormat format = ConvolutionArgs.weightsFormat(conv);
                int weightAxis = format == WeightsFormat.YXIO ? 3 : 0;
                int weightInputAxis = switch (format) {
                    case YXIO -> 2;
                    case OIYX -> 1;
                    case OYXI -> 3;
                };
                found.add(new QuantizableOp(sdo.getName(), sdo.getOutputsOfOp().get(0), "conv2d", in.get(0),
                        activationAxis, in.get(1), weightAxis, weightInputAxis));
            } else if (op instanceof DepthwiseConv2D conv) {
                // Weights [kH, kW, inC, depthMultiplier]; output channel i * depthMultiplier + m. Per-channel scales
                // run along axis 2: exactly one output channel each when depthMultiplier is 1 (every zoo model);
                // with a larger multiplier one scale covers the depthMultiplier filters of an input channel.
                Conv2DConfig config = conv.getConfig();
                found.add(new QuantizableOp(sdo.getName(), sdo.getOutputsOfOp().get(0), "depthwise_conv2d", in.get(0),
                        config.isNHWC() ? 3 : 1, in.get(1), 2, 2));
            } else if (op instanceof DeConv2D deconv) {
                // Transposed convolution, weights [kH, kW, outC, inC] (libnd4j's deconv2d layout, both data formats):
                // output channels on axis 2, input channels on axis 3, unlike conv2d's YXIO.
                found.add(new QuantizableOp(sdo.getName(), sdo.getOutputsOfOp().get(0), "deconv2d", in.get(0),
                        ConvolutionArgs.nhwc(deconv) ? 3 : 1, in.get(1), 2, 3));
            } else if (op instanceof XwPlusB) {
                found.add(new QuantizableOp(sdo.getName(), sdo.getOutputsOfOp().get(0), "xw_plus_b", in.get(0), 1,
                        in.get(1), 1, 0));
            } else if (op instanceof Mmul mmul && in.size() == 2) {
                Map<String, Object> p = mmul.propertiesForFunction();
                boolean ta = Boolean.TRUE.equals(p.get("transposeA"));
                boolean tb = Boolean.TRUE.equals(p.get("transposeB"));
                long[] wShape = sd.getVariable(in.get(1)).getShape();
                if (ta || wShape == null || wShape.length != 2 || Boolean.TRUE.equals(p.get("transposeResult"))) {
                    continue;
                }
                found.add(new QuantizableOp(sdo.getName(), sdo.getOutputsOfOp().get(0), "matmul", in.get(0), 1,
                        in.get(1), tb ? 0 : 1, tb ? 1 : 0));
            }
        }
        return found;
    }

    private static boolean isParameter(SameDiff sd, String name) {
        SDVariable v = sd.getVariable(name);
        return v != null && (v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE);
    }
}
