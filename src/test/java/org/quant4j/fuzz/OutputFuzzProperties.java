package org.quant4j.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import net.jqwik.api.Tag;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;

/**
 * Fuzzing {@code output} (issue 25, item 5): arrays of every ND4J data type, rank 0 to 5, sizes around and away from
 * what the network takes (zero included), C and F order, views into larger arrays, with NaN and infinities sprinkled
 * in, on both executions of two models (a LeNet-like network with a flatten that fixes the image size, and a global
 * pooling network that takes any size). Each case either gives a result (one row per example, equal to the result
 * for a dense FLOAT copy of the same values, NaN rows exactly for the examples holding a non-finite value) or throws
 * a {@link QuantizationException}; anything else fails, and a JVM crash fails {@link FuzzSuiteTest}.
 */
@Tag("fuzz")
class OutputFuzzProperties {

    /** Each model with the shape of one example it takes. */
    private record Served(String name, QuantizedModel model, long[] example) {
    }

    private static List<Served> served;

    private static synchronized List<Served> models() {
        if (served == null) {
            MultiLayerNetwork flattening = flatteningCnn();
            MultiLayerNetwork pooling = TestNetworks.globalPoolingCnn();
            served = List.of(
                    new Served("flatten 1x12x12", Quantizer.quantize(flattening,
                            TestNetworks.randomIterator(8, new long[] {8, 1, 12, 12}, 4, 2, 1)), new long[] {1, 12, 12}),
                    new Served("global pooling 3x16x16", Quantizer.quantize(pooling,
                            TestNetworks.randomIterator(8, new long[] {8, 3, 16, 16}, 5, 2, 2)), new long[] {3, 16, 16}));
        }
        return served;
    }

    private static MultiLayerNetwork flatteningCnn() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(5).weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder().kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(12, 12, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** One input to try. */
    record Case(int model, DataType type, long[] shape, char order, boolean view, int nonFinite, Execution execution,
            long seed) {
        @Override
        public String toString() {
            return "model " + model + ", " + type + " " + Arrays.toString(shape) + " order " + order
                    + (view ? " (a view)" : "") + ", " + nonFinite + " non-finite, " + execution + ", seed " + seed;
        }
    }

    private static final List<DataType> TYPES = List.of(DataType.FLOAT, DataType.DOUBLE, DataType.HALF,
            DataType.BFLOAT16, DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32,
            DataType.UINT32, DataType.INT64, DataType.UINT64, DataType.BOOL);

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> model = Arbitraries.integers().between(0, 1);
        Arbitrary<DataType> type = Arbitraries.of(TYPES);
        Arbitrary<long[]> dims = Arbitraries.integers().between(0, 5).flatMap(rank -> Arbitraries.longs()
                .between(0, 24).array(long[].class).ofSize(rank));
        Arbitrary<Boolean> fitting = Arbitraries.integers().between(0, 2).map(i -> i > 0);
        Arbitrary<Character> order = Arbitraries.of('c', 'f');
        Arbitrary<Boolean> view = Arbitraries.of(false, true);
        Arbitrary<Integer> nonFinite = Arbitraries.integers().between(0, 3);
        Arbitrary<Execution> execution = Arbitraries.of(Execution.values()).injectNull(0.3);
        Arbitrary<Long> seed = Arbitraries.longs();
        List<Arbitrary<Object>> parts = List.of(model.asGeneric(), type.asGeneric(), dims.asGeneric(),
                fitting.asGeneric(), order.asGeneric(), view.asGeneric(), nonFinite.asGeneric(),
                execution.asGeneric(), seed.asGeneric());
        return Combinators.combine(parts).as(v -> {
                    int m = (Integer) v.get(0);
                    long[] shape = (Boolean) v.get(3) ? fitting(m, (long[]) v.get(2)) : (long[]) v.get(2);
                    return new Case(m, (DataType) v.get(1), shape, (Character) v.get(4), (Boolean) v.get(5),
                            (Integer) v.get(6), (Execution) v.get(7), (Long) v.get(8));
                });
    }

    /** A shape the model takes: a batch size from {@code dims} (or 3), then the example's shape. */
    private static long[] fitting(int model, long[] dims) {
        long[] example = model == 0 ? new long[] {1, 12, 12} : new long[] {3, 16, 16};
        long[] shape = new long[example.length + 1];
        shape[0] = dims.length > 0 ? Math.max(dims[0], 1) : 3;
        System.arraycopy(example, 0, shape, 1, example.length);
        return shape;
    }

    @Property(seed = "25")
    void outputGivesOneRowPerExampleOrANamedError(@ForAll("cases") Case c) {
        CaseLog.record(c.toString());
        Served s = models().get(c.model());
        INDArray x = input(c);
        INDArray out;
        try {
            out = c.execution() == null ? s.model().output(x) : s.model().outputs(c.execution(), x)[0];
        } catch (QuantizationException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), c + ": an error without a message");
            return;
        }
        long batch = x.size(0);
        assertEquals(batch, out.size(0), c + ": rows");
        INDArray dense = x.castTo(DataType.FLOAT).dup('c');
        INDArray expected = c.execution() == null ? s.model().output(dense) : s.model().outputs(c.execution(), dense)[0];
        float[] a = expected.dup('c').reshape(-1).toFloatVector();
        float[] b = out.dup('c').reshape(-1).toFloatVector();
        assertArrayEquals(a, b, 0f, c + ": the output of a dense FLOAT copy of the same values");
        boolean anyNonFinite = !Double.isFinite(dense.sumNumber().doubleValue());
        if (!anyNonFinite) {
            for (float v : b) {
                assertTrue(Float.isFinite(v), c + ": finite input, non-finite output " + Arrays.toString(b));
            }
        }
    }

    /** The case's array: random values in [0, 4) (whole numbers for integer types), some replaced by NaN/infinity. */
    private static INDArray input(Case c) {
        Random random = new Random(c.seed());
        long[] full = c.shape().clone();
        if (c.view() && full.length > 0) {
            full[0] += 2;
        }
        long length = Arrays.stream(full).reduce(1, (p, q) -> p * q);
        double[] values = new double[(int) length];
        for (int i = 0; i < values.length; i++) {
            values[i] = c.type().isFPType() ? random.nextDouble() * 4 : random.nextInt(4);
        }
        if (c.type().isFPType()) {
            for (int k = 0; k < c.nonFinite() && values.length > 0; k++) {
                double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
                values[random.nextInt(values.length)] = specials[random.nextInt(3)];
            }
        }
        INDArray array = full.length == 0 ? Nd4j.scalar(values[0]) : Nd4j.create(values, full, 'c');
        array = array.castTo(c.type()).dup(c.order());
        if (c.view() && full.length > 0) {
            List<INDArrayIndex> index = new ArrayList<>();
            index.add(NDArrayIndex.interval(1, 1 + c.shape()[0]));
            for (int d = 1; d < full.length; d++) {
                index.add(NDArrayIndex.all());
            }
            array = array.get(index.toArray(INDArrayIndex[]::new));
        }
        return array;
    }
}
