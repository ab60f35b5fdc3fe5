package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Top-1 accuracy on a labelled test set of a trained DL4J network (fp32) and of its W8A8 quantizations, as issue
 * #20's study rows take them: the static quantization once per calibration draw (draw {@code d} is training examples
 * {@code 512 d .. 512 (d + 1) - 1}), the dynamic quantization once (it takes no data); each through the fake-quant
 * graph and the int8 plan, and the share of test inputs on which the two give the same class.
 */
public final class HeldOutAccuracy {

    /** Calibration images per draw. */
    public static final int CALIBRATION = 512;
    private static final int BATCH = 1000;

    /** One quantized model measured: top-1 (%) of its fake-quant graph and its int8 plan, and their agreement (%). */
    public record Measured(double fakeQuant, double int8, double agreement) {
    }

    /** A network's row: fp32 top-1 (%), one {@link Measured} per calibration draw, the dynamic quantization's. */
    public record Row(String network, double fp32, List<Measured> draws, Measured dynamic, String int8Summary) {

        public double meanDrop() {
            return fp32 - draws.stream().mapToDouble(Measured::fakeQuant).average().orElseThrow();
        }

        public double meanInt8Drop() {
            return fp32 - draws.stream().mapToDouble(Measured::int8).average().orElseThrow();
        }

        public double worstAgreement() {
            double worst = dynamic.agreement();
            for (Measured m : draws) {
                worst = Math.min(worst, m.agreement());
            }
            return worst;
        }

        /** What the test prints: every figure of the row. */
        public String describe() {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%s: top-1 fp32 %.2f %%%n", network, fp32));
            for (int d = 0; d < draws.size(); d++) {
                Measured m = draws.get(d);
                s.append(String.format(Locale.ROOT, "  static draw %d: fake-quant %.2f %%, int8 %.2f %%, agree %.2f %%%n",
                        d, m.fakeQuant(), m.int8(), m.agreement()));
            }
            s.append(String.format(Locale.ROOT, "  static: mean drop %.2f points, int8 mean drop %.2f points%n",
                    meanDrop(), meanInt8Drop()));
            s.append(String.format(Locale.ROOT, "  dynamic: fake-quant %.2f %% (drop %.2f), int8 %.2f %% (drop %.2f),"
                    + " agree %.2f %%%n", dynamic.fakeQuant(), fp32 - dynamic.fakeQuant(), dynamic.int8(),
                    fp32 - dynamic.int8(), dynamic.agreement()));
            return s.append("  int8 plan (static, first draw): ").append(int8Summary).append('\n').toString();
        }

        /**
         * Issue #20's bounds: mean drop of the static draws and the dynamic drop at most 0.3 points, fake-quant and
         * int8 alike; the int8 plan agreeing with the fake-quant graph on at least 99.9 % of the test inputs.
         */
        public void assertWithinIssueBounds(double fp32AtLeast) {
            assertTrue(fp32 > fp32AtLeast, network + " did not learn: fp32 top-1 " + fp32);
            assertTrue(meanDrop() <= 0.3, network + ": static W8A8 mean drop " + meanDrop());
            assertTrue(meanInt8Drop() <= 0.3, network + ": static int8 mean drop " + meanInt8Drop());
            assertTrue(fp32 - dynamic.fakeQuant() <= 0.3, network + ": dynamic drop " + (fp32 - dynamic.fakeQuant()));
            assertTrue(fp32 - dynamic.int8() <= 0.3, network + ": dynamic int8 drop " + (fp32 - dynamic.int8()));
            assertTrue(worstAgreement() >= 99.9, network + ": int8 agrees with fake-quant on " + worstAgreement()
                    + " %");
        }
    }

    private HeldOutAccuracy() {
    }

    /** Calibration draw {@code draw}: training examples {@code 512 draw ..} in batches of 64. */
    public static DataSetIterator calibrationDraw(INDArray features, INDArray labels, int draw) {
        DataSet d = new DataSet(features.get(NDArrayIndex.interval(draw * CALIBRATION, (draw + 1) * CALIBRATION)),
                labels.get(NDArrayIndex.interval(draw * CALIBRATION, (draw + 1) * CALIBRATION)));
        return new ListDataSetIterator<>(d.asList(), 64);
    }

    /**
     * Measures a network's row.
     *
     * @param fp32 the trained network's output for a batch of {@code x}
     * @param x the test inputs, as the network takes them
     * @param labels the test labels, one-hot
     * @param quantizeDraw the static quantization on calibration draw {@code d}
     * @param dynamic the dynamic quantization
     * @param summaryShape the input shape the int8 plan's summary is given for
     */
    public static Row measure(String network, UnaryOperator<INDArray> fp32, INDArray x, INDArray labels, int draws,
            IntFunction<QuantizedModel> quantizeDraw, QuantizedModel dynamic, long[] summaryShape) {
        INDArray truth = labels.argMax(1);
        int n = (int) x.size(0);
        int correct = 0;
        for (int from = 0; from < n; from += BATCH) {
            correct += count(truth, from, fp32.apply(batch(x, from)).argMax(1));
        }
        List<Measured> measured = new ArrayList<>();
        String summary = null;
        for (int d = 0; d < draws; d++) {
            QuantizedModel q = quantizeDraw.apply(d);
            measured.add(measure(q, x, truth));
            if (summary == null) {
                summary = q.int8Network().summary(summaryShape);
            }
        }
        return new Row(network, 100.0 * correct / n, measured, measure(dynamic, x, truth), summary);
    }

    private static Measured measure(QuantizedModel q, INDArray x, INDArray truth) {
        assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        int n = (int) x.size(0);
        int fakeQuant = 0;
        int int8 = 0;
        int agree = 0;
        for (int from = 0; from < n; from += BATCH) {
            INDArray batch = batch(x, from);
            INDArray simulated = q.outputs(QuantizedModel.Execution.FAKE_QUANT, batch)[0].argMax(1);
            INDArray integer = q.outputs(QuantizedModel.Execution.INT8, batch)[0].argMax(1);
            fakeQuant += count(truth, from, simulated);
            int8 += count(truth, from, integer);
            agree += simulated.eq(integer).castTo(DataType.INT32).sumNumber().intValue();
        }
        return new Measured(100.0 * fakeQuant / n, 100.0 * int8 / n, 100.0 * agree / n);
    }

    private static INDArray batch(INDArray x, int from) {
        return x.get(NDArrayIndex.interval(from, Math.min(x.size(0), from + BATCH)));
    }

    private static int count(INDArray truth, int from, INDArray predicted) {
        INDArray t = truth.get(NDArrayIndex.interval(from, from + predicted.length()));
        return t.eq(predicted).castTo(DataType.INT32).sumNumber().intValue();
    }
}
