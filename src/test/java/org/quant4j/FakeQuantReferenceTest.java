package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.graph.TensorQuantization;

/**
 * The fake-quant graph against a quantize-dequantize computed here, in plain Java loops, from the definitions:
 * MinMax ranges, unsigned 8-bit grid for non-negative tensors, symmetric narrow signed grid otherwise,
 * {@code q = clamp(rint(x / s), qmin, qmax)}, value {@code q * s}, all in float like the graph.
 */
class FakeQuantReferenceTest {

    private static final int IN = 8;
    private static final int HIDDEN = 6;
    private static final int OUT = 3;

    private static MultiLayerNetwork mlp() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).weightInit(WeightInit.XAVIER)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().name("hidden").nIn(IN).nOut(HIDDEN).activation(Activation.IDENTITY).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).name("out").nIn(HIDDEN).nOut(OUT)
                        .activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        // Non-zero biases, so that their handling is checked too.
        net.getLayer(0).setParam("b", Nd4j.linspace(-0.3, 0.4, HIDDEN, DataType.FLOAT).reshape(1, HIDDEN));
        net.getLayer(1).setParam("b", Nd4j.linspace(0.2, -0.1, OUT, DataType.FLOAT).reshape(1, OUT));
        return net;
    }

    @Test
    void mlpOutputEqualsJavaReference() {
        checkMlp(ZeroPoints.OFF);
    }

    /**
     * With zero points everywhere: the hidden layer's two-sided values on the asymmetric grid,
     * {@code s = (max - min) / 255}, {@code z = clamp(rint(-min / s), 0, 255)}, value
     * {@code (clamp(rint(x / s) + z, 0, 255) - z) * s}; the input, non-negative, keeps the unsigned grid.
     */
    @Test
    void mlpWithZeroPointsEqualsJavaReference() {
        checkMlp(ZeroPoints.ON);
    }

    private static void checkMlp(ZeroPoints zeroPoints) {
        boolean asymmetric = zeroPoints == ZeroPoints.ON;
        MultiLayerNetwork net = mlp();
        Nd4j.getRandom().setSeed(11);
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 16, IN).muli(Nd4j.linspace(1, 4, IN, DataType.FLOAT).reshape(1, IN));
            batches.add(new DataSet(x, Nd4j.zeros(DataType.FLOAT, 16, OUT)));
        }
        // 8-bit weights explicitly (the default is 7 on CPUs without VNNI) and no bias correction: this reference is
        // the plain quantized arithmetic at 8 bits.
        QuantizedModel q = Quantizer.quantize(net, new ListDataSetIterator<>(batches, 16),
                QuantizationOptions.builder().weightBits(8).biasCorrection(false).rangeMethod("minmax")
                        .granularity(Granularity.PER_CHANNEL).activationZeroPoints(zeroPoints)
                        .build());

        float[][] w0 = toMatrix(net.getLayer(0).getParam("W"));
        float[] b0 = net.getLayer(0).getParam("b").data().asFloat();
        float[][] w1 = toMatrix(net.getLayer(1).getParam("W"));
        float[] b1 = net.getLayer(1).getParam("b").data().asFloat();

        // Calibration statistics, computed here.
        float[] inMax = new float[IN];
        float[] hidMin = new float[HIDDEN];
        float[] hidMax = new float[HIDDEN];
        java.util.Arrays.fill(hidMin, Float.POSITIVE_INFINITY);
        java.util.Arrays.fill(hidMax, Float.NEGATIVE_INFINITY);
        for (DataSet batch : batches) {
            float[][] x = toMatrix(batch.getFeatures());
            float[][] h = dense(x, w0, b0);
            for (float[] row : x) {
                for (int f = 0; f < IN; f++) {
                    inMax[f] = Math.max(inMax[f], row[f]);
                }
            }
            for (float[] row : h) {
                for (int f = 0; f < HIDDEN; f++) {
                    hidMin[f] = Math.min(hidMin[f], row[f]);
                    hidMax[f] = Math.max(hidMax[f], row[f]);
                }
            }
        }
        float[] sIn = new float[IN];
        for (int f = 0; f < IN; f++) {
            sIn[f] = inMax[f] / 255f;
        }
        float[] sHid = new float[HIDDEN];
        int[] zHid = new int[HIDDEN];
        for (int f = 0; f < HIDDEN; f++) {
            if (asymmetric) {
                double lo = Math.min(0, hidMin[f]);
                double hi = Math.max(0, hidMax[f]);
                sHid[f] = (float) ((hi - lo) / 255);
                zHid[f] = (int) Math.max(0, Math.min(255, Math.rint(-lo / sHid[f])));
            } else {
                sHid[f] = Math.max(Math.abs(hidMin[f]), Math.abs(hidMax[f])) / 127f;
            }
        }
        // Integer execution folds the activation scales into the weights: W'[i][o] = W[i][o] * s_x[i].
        float[][] w0q = quantizeColumns(w0, sIn);
        float[][] w1q = quantizeColumns(w1, sHid);

        // The production scales agree with ours.
        TensorQuantization input = find(q, "input");
        TensorQuantization hidden = find(q, "hidden/preact"); // the identity activation is looked through
        assertEquals(false, input.grid().signed());
        assertEquals(!asymmetric, hidden.grid().signed());
        assertEquals(false, input.hasZeroPoints());
        assertEquals(asymmetric, hidden.hasZeroPoints());
        for (int f = 0; f < IN; f++) {
            assertEquals(sIn[f], input.scales()[f], 1e-6 * sIn[f]);
        }
        for (int f = 0; f < HIDDEN; f++) {
            assertEquals(sHid[f], hidden.scales()[f], 1e-6 * sHid[f]);
            assertEquals(zHid[f], hidden.zeroPoint(f), "zero point of hidden channel " + f);
        }
        if (asymmetric) {
            // The hidden values are off centre (biases -0.3..0.4 on positive inputs): some zero point is not at
            // the grid's middle, or the test would not tell the grids apart.
            assertTrue(java.util.Arrays.stream(zHid).anyMatch(z -> Math.abs(z - 128) > 10), java.util.Arrays
                    .toString(zHid));
        }

        INDArray test = Nd4j.rand(DataType.FLOAT, 40, IN).muli(5).subi(0.5); // also outside the calibrated range
        float[][] x = toMatrix(test);
        float[][] xq = new float[x.length][IN];
        for (int r = 0; r < x.length; r++) {
            for (int f = 0; f < IN; f++) {
                xq[r][f] = fakeQuant(x[r][f], sIn[f], 0, 255);
            }
        }
        float[][] h = dense(xq, w0q, b0);
        for (float[] row : h) {
            for (int f = 0; f < HIDDEN; f++) {
                row[f] = asymmetric ? fakeQuant(row[f], sHid[f], zHid[f], 0, 255)
                        : fakeQuant(row[f], sHid[f], -127, 127);
            }
        }
        float[][] expected = dense(h, w1q, b1);
        float[][] actual = toMatrix(q.outputs(QuantizedModel.Execution.FAKE_QUANT, test)[0]);
        double maxAbs = 0;
        double maxDiff = 0;
        for (int r = 0; r < expected.length; r++) {
            for (int o = 0; o < OUT; o++) {
                maxAbs = Math.max(maxAbs, Math.abs(expected[r][o]));
                maxDiff = Math.max(maxDiff, Math.abs(expected[r][o] - actual[r][o]));
            }
        }
        assertTrue(maxDiff <= 1e-5 * maxAbs, "fake-quant output differs from the Java reference by " + maxDiff
                + " (max |y| " + maxAbs + ")");
        // And quantization did change the output: the reference is not simply fp32.
        float[][] fp32 = toMatrix(net.output(test));
        double fpDiff = 0;
        for (int r = 0; r < expected.length; r++) {
            for (int o = 0; o < OUT; o++) {
                fpDiff = Math.max(fpDiff, Math.abs(fp32[r][o] - actual[r][o]));
            }
        }
        assertTrue(fpDiff > 100 * maxDiff, "quantized output is indistinguishable from fp32");
    }

    @Test
    void convActivationAndWeightsAreQuantizedPerChannel() {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(8, 784, 10, 3, 5),
                QuantizationOptions.builder().weightBits(8).biasCorrection(false).rangeMethod("minmax")
                        .granularity(Granularity.PER_CHANNEL)
                        .build());
        // conv2 reads pool1 = maxpool(relu1); max pooling commutes with quantization, so relu1 is quantized.
        TensorQuantization act = find(q, "relu1");
        assertEquals(1, act.axis());
        assertEquals(6, act.scales().length);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 784);
        var graph = q.graph();
        Map<String, INDArray> values = org.quant4j.graph.GraphExecution.output(graph, Map.of("input", x), List.of("relu1", "relu1:fq", "conv2/W:dqi"));
        float[] pooled = values.get("relu1").dup('c').data().asFloat();
        float[] fq = values.get("relu1:fq").dup('c').data().asFloat();
        long[] shape = values.get("relu1").shape();
        int plane = (int) (shape[2] * shape[3]);
        int mismatches = 0;
        for (int i = 0; i < pooled.length; i++) {
            int c = (i / plane) % (int) shape[1];
            float expected = fakeQuant(pooled[i], act.scales()[c], act.grid().qmin(), act.grid().qmax());
            if (expected != fq[i]) {
                mismatches++;
            }
        }
        assertEquals(0, mismatches, "elements of relu1:fq differing from the Java reference");

        TensorQuantization w = find(q, "conv2/W");
        assertEquals(0, w.axis());
        float[] weights = net.getLayer(4).getParam("W").dup('c').data().asFloat();
        float[] dq = values.get("conv2/W:dqi").dup('c').data().asFloat();
        int perChannel = weights.length / 8; // OIHW: 6 input channels x 3 x 3 per output channel
        for (int i = 0; i < weights.length; i++) {
            int o = i / perChannel;
            float maxAbs = 0;
            for (int j = o * perChannel; j < (o + 1) * perChannel; j++) {
                maxAbs = Math.max(maxAbs, Math.abs(weights[j] * act.scales()[(j % perChannel) / 9]));
            }
            float s = maxAbs / 127f;
            assertEquals(s, w.scales()[o], 1e-6f * s);
            float inputScale = act.scales()[(i % perChannel) / 9];
            float expected = fakeQuant(weights[i] * inputScale, w.scales()[o], -127, 127) / inputScale;
            assertEquals(expected, dq[i], Math.ulp(expected) * 2, "weight " + i);
        }
    }

    static TensorQuantization find(QuantizedModel q, String tensor) {
        return q.quantizations().stream().filter(t -> t.tensor().equals(tensor)).findFirst()
                .orElseThrow(() -> new AssertionError("no quantization of " + tensor + " in " + q.quantizations()));
    }

    /** The asymmetric grid: {@code (clamp(rint(x / s) + z, qmin, qmax) - z) * s}, in float. */
    static float fakeQuant(float x, float s, int z, int qmin, int qmax) {
        float level = (float) Math.rint(x / s) + z;
        level = Math.max(qmin, Math.min(qmax, level));
        return (level - z) * s;
    }

    static float fakeQuant(float x, float s, int qmin, int qmax) {
        float level = (float) Math.rint(x / s);
        level = Math.max(qmin, Math.min(qmax, level));
        return level * s;
    }

    /**
     * Weights [in, out] with the input scales folded in ({@code W' = W * s_x[i]}), quantized per output column,
     * symmetric, 8 bits, MinMax, and returned as the values the op uses: {@code q * s_o / s_x[i]}.
     */
    private static float[][] quantizeColumns(float[][] w, float[] inputScales) {
        float[][] q = new float[w.length][w[0].length];
        for (int o = 0; o < w[0].length; o++) {
            float maxAbs = 0;
            for (int i = 0; i < w.length; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(w[i][o] * inputScales[i]));
            }
            float s = maxAbs / 127f;
            for (int i = 0; i < w.length; i++) {
                q[i][o] = fakeQuant(w[i][o] * inputScales[i], s, -127, 127) / inputScales[i];
            }
        }
        return q;
    }

    private static float[][] dense(float[][] x, float[][] w, float[] b) {
        float[][] y = new float[x.length][w[0].length];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < w[0].length; o++) {
                double sum = b[o];
                for (int i = 0; i < w.length; i++) {
                    sum += (double) x[r][i] * w[i][o];
                }
                y[r][o] = (float) sum;
            }
        }
        return y;
    }

    private static float[][] toMatrix(INDArray a) {
        return a.castTo(DataType.FLOAT).toFloatMatrix();
    }
}
