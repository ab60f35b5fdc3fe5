package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calib.ChannelStatistics;
import org.quant4j.graph.TensorQuantization;
import org.quant4j.range.ClipRange;
import org.quant4j.range.QuantGrid;
import org.quant4j.range.RangeSolver;
import org.quant4j.runtime.Dnnl;

/** Options are plain data: named range methods, a user's own solver, machine limits decided when quantizing. */
class QuantizationOptionsTest {

    /** Clips every channel at half its largest magnitude: unlike any built-in method, so its use shows. */
    record HalfMaxSolver() implements RangeSolver {
        @Override
        public String name() {
            return "half-max";
        }

        @Override
        public ClipRange solve(ChannelStatistics channel, QuantGrid grid) {
            double a = 0.5 * Math.max(Math.abs(channel.min()), Math.abs(channel.max()));
            return channel.min() >= 0 ? new ClipRange(0, Math.max(a, 1e-6)) : ClipRange.symmetric(Math.max(a, 1e-6));
        }
    }

    @Test
    void builtInMethodsAreConstantsAndNamesWithThePatentAlias() {
        assertEquals("fitted-pdf", RangeMethod.FITTED_PDF.name());
        assertEquals(RangeMethod.FITTED_PDF, RangeMethod.named("patent"));
        assertEquals(RangeMethod.FITTED_PDF, RangeMethod.named("Fitted-PDF"));
        assertEquals("fitted-pdf-ml", RangeMethod.named("patent-ml").name());
        assertEquals(RangeMethod.MINMAX, RangeMethod.named("minmax"));
        assertEquals(RangeMethod.FITTED_PDF, QuantizationOptions.defaults().activationRangeMethod());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RangeMethod.named("best"));
        assertTrue(e.getMessage().contains("fitted-pdf") && e.getMessage().contains("minmax"), e.getMessage());
    }

    @Test
    void toBuilderKeepsEveryOptionAndChangesOnlyWhatIsSet() {
        QuantizationOptions unresolved = QuantizationOptions.defaults();
        assertEquals(unresolved, unresolved.toBuilder().build(), "AUTO bits and the default bias correction stay");
        QuantizationOptions every = QuantizationOptions.builder().activationRangeMethod(RangeMethod.MINMAX)
                .weightRangeMethod(RangeMethod.MSE).activationBits(6).weightBits(5)
                .activationGranularity(Granularity.PER_TENSOR).weightGranularity(Granularity.PER_TENSOR)
                .calibrationBatches(7).reportBatches(3).keepFp32("dense", "conv").biasCorrection(false)
                .sequentialPasses(2).keepUnsupportedLayersFp32(true).crossLayerEqualization(true)
                .activationZeroPoints(ZeroPoints.PER_POINT).adaround(50).observerOps(true).build();
        assertEquals(every, every.toBuilder().build());
        QuantizationOptions changed = every.toBuilder().activationBits(8).build();
        assertEquals(8, changed.activationBits());
        assertEquals(every, changed.toBuilder().activationBits(6).build(), "nothing else changed");
        assertEquals(java.util.Set.of("only"), every.withKeepFp32(java.util.Set.of("only")).keepFp32());
        assertEquals(every.activationRangeMethod(), every.withKeepFp32(java.util.Set.of()).activationRangeMethod());
    }

    @Test
    void machineLimitsAreDecidedWhenQuantizing() {
        QuantizationOptions defaults = QuantizationOptions.defaults();
        assertEquals(QuantizationOptions.AUTO_WEIGHT_BITS, defaults.weightBits());
        assertNull(defaults.biasCorrection());
        QuantizationOptions on8 = defaults.resolved(8);
        assertEquals(8, on8.weightBits());
        assertEquals(true, on8.biasCorrection(), "bias correction by default, at 8 bits too");
        QuantizationOptions on7 = defaults.resolved(7);
        assertEquals(7, on7.weightBits());
        assertEquals(true, on7.biasCorrection(), "bias correction by default");
        QuantizationOptions chosen = QuantizationOptions.builder().weightBits(4).biasCorrection(false).build();
        assertEquals(4, chosen.resolved(7).weightBits());
        assertEquals(false, chosen.resolved(7).biasCorrection());

        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 2, 5L));
        assertEquals(Dnnl.safeWeightBits(), q.options().weightBits(), "the model's options are the resolved ones");
        assertEquals(q.options().weightBits(), q.report().weightBits());
    }

    @Test
    void aUsersOwnSolverSetsTheRangesAndItsNameIsSaved(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = TestNetworks.cnn();
        QuantizationOptions options = QuantizationOptions.builder().rangeSolver(new HalfMaxSolver())
                .granularity(Granularity.PER_CHANNEL).build();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 2, 5L), options);
        assertEquals("half-max", q.report().activationMethod());
        QuantizedModel minmax = Quantizer.quantize(net, TestNetworks.randomIterator(16, 784, 10, 2, 5L),
                QuantizationOptions.builder().rangeMethod(RangeMethod.MINMAX)
                        .granularity(Granularity.PER_CHANNEL).build());
        for (TensorQuantization t : q.quantizations()) {
            TensorQuantization m = minmax.quantizations().stream().filter(x -> x.tensor().equals(t.tensor()))
                    .findFirst().orElseThrow();
            if (t.kind() == TensorQuantization.Kind.ACTIVATION) {
                for (int c = 0; c < t.hi().length; c++) {
                    assertEquals(0.5 * Math.max(m.hi()[c], -m.lo()[c]), Math.max(t.hi()[c], -t.lo()[c]),
                            1e-6 * Math.max(1, m.hi()[c]), t.tensor() + " channel " + c);
                }
            }
        }
        File file = dir.resolve("half.q4j").toFile();
        q.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        assertEquals("half-max", loaded.options().activationRangeMethod().name());
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> loaded.options().activationRangeMethod().solver());
        assertTrue(e.getMessage().contains("half-max"), e.getMessage());
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
        assertArrayEquals(q.output(x).reshape(-1).toFloatVector(), loaded.output(x).reshape(-1).toFloatVector(), 0f);
        assertEquals(RangeMethod.of(new HalfMaxSolver()), loaded.options().weightRangeMethod(), "weights too");
    }
}
