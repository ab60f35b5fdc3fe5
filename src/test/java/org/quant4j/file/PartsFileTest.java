package org.quant4j.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationException;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;

/**
 * A model quantized in parts ({@code keepUnsupportedLayersFp32}) saved and loaded: the same outputs, layers kept in
 * fp32 and report; byte-identical saves; and the reader's refusals of damaged or hostile parts, each named.
 */
class PartsFileTest {

    private static MultiLayerNetwork net;
    private static QuantizedModel model;
    private static byte[] saved;

    /** dense -> gate (ElementWiseMultiplicationLayer: DL4J's, not converted) -> dense -> softmax. */
    @BeforeAll
    static void quantizeInParts() throws IOException {
        net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(281).activation(Activation.RELU).list()
                .layer(new DenseLayer.Builder().name("a").nOut(16).build())
                .layer(new ElementWiseMultiplicationLayer.Builder().name("gate").nOut(16)
                        .activation(Activation.SIGMOID).build())
                .layer(new DenseLayer.Builder().name("c").nOut(10).build())
                .layer(new OutputLayer.Builder().name("out").nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(12)).build());
        net.init();
        model = Quantizer.quantize(net, TestNetworks.randomIterator(32, 12, 4, 4, 283),
                QuantizationOptions.builder().keepUnsupportedLayersFp32(true).build());
        assertEquals(List.of(new QuantizedModel.Fp32Layer(1, "gate", "ElementWiseMultiplicationLayer")),
                model.fp32Layers());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        model.save(out);
        saved = out.toByteArray();
    }

    @Test
    void savedAndLoadedItGivesTheSameOutputsLayersAndReport(@TempDir Path dir) throws IOException {
        File file = dir.resolve("parts.q4j").toFile();
        model.save(file);
        QuantizedModel loaded = QuantizedModel.load(file);
        assertEquals(model.fp32Layers(), loaded.fp32Layers());
        assertEquals(model.quantizations(), loaded.quantizations());
        assertEquals(model.report().withoutTimings(), loaded.report());
        Nd4j.getRandom().setSeed(287);
        INDArray x = Nd4j.rand(DataType.FLOAT, 20, 12);
        for (Execution e : Execution.values()) {
            assertEquals(model.outputs(e, x)[0], loaded.outputs(e, x)[0], e.name());
        }
        assertEquals(model.execution(), loaded.execution());
        assertEquals(List.of("parts.json", "part-0.q4j", "part-1.layers.json", "part-1.params", "part-2.q4j"),
                ModelZips.entries(saved).stream().map(ModelZips.Entry::name).toList());
        // the layer kept in fp32 holds the network's own parameters
        assertEquals(net.getLayer(1).params().length() * 4L, ModelZips.entry(saved, "part-1.params").length);
    }

    @Test
    void twoSavesAreByteIdentical() throws IOException {
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        model.save(again);
        assertArrayEquals(saved, again.toByteArray());
    }

    private static QuantizationException refusedWith(String entry, UnaryOperator<byte[]> change) {
        List<ModelZips.Entry> entries = new ArrayList<>();
        for (ModelZips.Entry e : ModelZips.entries(saved)) {
            entries.add(e.name().equals(entry) ? new ModelZips.Entry(e.name(), change.apply(e.bytes())) : e);
        }
        byte[] damaged = ModelZips.zip(entries);
        return assertThrows(QuantizationException.class,
                () -> QuantizedModel.load(new ByteArrayInputStream(damaged)));
    }

    private static UnaryOperator<byte[]> replacing(String from, String to) {
        return bytes -> {
            String text = new String(bytes, StandardCharsets.UTF_8);
            assertTrue(text.contains(from), "the entry holds " + from);
            return text.replace(from, to).getBytes(StandardCharsets.UTF_8);
        };
    }

    @Test
    void aConfigurationNamingAClassOutsideDl4jIsRefusedBeforeItIsRead() {
        QuantizationException e = refusedWith("part-1.layers.json", replacing(
                ElementWiseMultiplicationLayer.class.getName(), "java.lang.ProcessBuilder"));
        assertTrue(e.getMessage().contains("part 1") && e.getMessage().contains("'gate'")
                && e.getMessage().contains("java.lang.ProcessBuilder"), e.getMessage());
    }

    @Test
    void parametersThatDoNotMatchTheLayersAreRefused() {
        QuantizationException shorter = refusedWith("part-1.params", b -> Arrays.copyOf(b, b.length - 4));
        assertTrue(shorter.getMessage().contains("'gate'") && shorter.getMessage().contains("end early"),
                shorter.getMessage());
        QuantizationException longer = refusedWith("part-1.params", b -> Arrays.copyOf(b, b.length + 8));
        assertTrue(longer.getMessage().contains("8 bytes more"), longer.getMessage());
        QuantizationException nan = refusedWith("part-1.params", b -> {
            byte[] c = b.clone();
            System.arraycopy(new byte[] {0, 0, (byte) 0xc0, 0x7f}, 0, c, 4, 4); // parameter 1 a NaN, little-endian
            return c;
        });
        assertTrue(nan.getMessage().contains("'gate'") && nan.getMessage().contains("parameter 1 is NaN"),
                nan.getMessage());
        long count = net.getLayer(1).params().length();
        QuantizationException counted = refusedWith("part-1.layers.json", replacing("\"parameters\" : " + count,
                "\"parameters\" : " + (count - 1)));
        assertTrue(counted.getMessage().contains("'gate'") && counted.getMessage().contains(String.valueOf(count)),
                counted.getMessage());
    }

    @Test
    void entriesThatDoNotMatchThePartsAreRefusedNamingThem() {
        List<ModelZips.Entry> entries = new ArrayList<>(ModelZips.entries(saved));
        entries.add(new ModelZips.Entry("part-7.params", new byte[4]));
        byte[] extra = ModelZips.zip(entries);
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> QuantizedModel.load(new ByteArrayInputStream(extra)));
        assertTrue(e.getMessage().contains("part-7.params"), e.getMessage());
        entries.remove(entries.size() - 1);
        entries.removeIf(x -> x.name().equals("part-2.q4j"));
        byte[] missing = ModelZips.zip(entries);
        e = assertThrows(QuantizationException.class, () -> QuantizedModel.load(new ByteArrayInputStream(missing)));
        assertTrue(e.getMessage().contains("part-2.q4j"), e.getMessage());
    }

    @Test
    void aDamagedQuantizedPartIsNamed() {
        QuantizationException e = refusedWith("part-2.q4j", b -> Arrays.copyOf(b, b.length / 2));
        assertTrue(e.getMessage().contains("part 2"), e.getMessage());
    }
}
