package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.convert.UnsupportedLayerException;
import org.quant4j.report.SqnrMeter;

/**
 * {@link QuantizationOptions#keepUnsupportedLayersFp32} on ComputationGraphs: a layer no converter handles
 * (ElementWiseMultiplicationLayer) kept in DL4J between quantized parts that branch and merge; a graph where more
 * than one value flows past it refused, naming where.
 */
class GraphUnsupportedLayersFp32Test {

    private static final QuantizationOptions KEEPING = QuantizationOptions.builder().keepUnsupportedLayersFp32(true)
            .build();

    /** in -> dense a, dense b -> merge -> gate (unsupported) -> dense c -> softmax. */
    private static ComputationGraph branchesThenGate() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(227)
                .activation(Activation.RELU).graphBuilder().addInputs("in")
                .addLayer("a", new DenseLayer.Builder().nIn(12).nOut(8).build(), "in")
                .addLayer("b", new DenseLayer.Builder().nIn(12).nOut(8).activation(Activation.TANH).build(), "in")
                .addVertex("merge", new MergeVertex(), "a", "b")
                .addLayer("gate", new ElementWiseMultiplicationLayer.Builder().nIn(16).nOut(16)
                        .activation(Activation.SIGMOID).build(), "merge")
                .addLayer("c", new DenseLayer.Builder().nIn(16).nOut(10).build(), "gate")
                .addLayer("out", new OutputLayer.Builder().nIn(10).nOut(4).activation(Activation.SOFTMAX).build(), "c")
                .setOutputs("out").build());
        net.init();
        return net;
    }

    @Tag("slow") // quantizes two parts: run in mvn verify
    @Test
    void anUnsupportedLayerOfAGraphRunsInFp32BetweenQuantizedParts() {
        ComputationGraph net = branchesThenGate();
        INDArray params = net.params().dup();
        QuantizedModel q = Quantizer.quantize(net, TestNetworks.randomIterator(32, 12, 4, 4, 229), KEEPING);
        assertEquals(params, net.params(), "the user's network is only read");
        assertEquals(List.of(new QuantizedModel.Fp32Layer(4, "gate", "ElementWiseMultiplicationLayer")),
                q.fp32Layers());
        for (String op : List.of("a", "b", "c", "out")) {
            assertTrue(q.report().quantizedOps().stream().anyMatch(o -> o.startsWith(op + "/")), q.report().toString());
        }
        Nd4j.getRandom().setSeed(233);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 12);
        INDArray expected = net.outputSingle(false, x.dup());
        INDArray actual = q.output(x);
        SqnrMeter sqnr = new SqnrMeter();
        sqnr.add(expected, actual);
        System.out.printf("graph with an fp32 layer between quantized parts: output SQNR %.2f dB vs DL4J (%s)%n",
                sqnr.sqnrDb(), q.execution());
        assertTrue(sqnr.sqnrDb() > 25, "output SQNR " + sqnr.sqnrDb());
        if (org.quant4j.runtime.Dnnl.available()) {
            assertEquals(QuantizedModel.Execution.INT8, q.execution(), q.int8Unavailable());
        }
        // saved and loaded: the same outputs and layers kept in fp32
        java.io.ByteArrayOutputStream file = new java.io.ByteArrayOutputStream();
        try {
            q.save(file);
            QuantizedModel loaded = QuantizedModel.load(new java.io.ByteArrayInputStream(file.toByteArray()));
            assertEquals(q.fp32Layers(), loaded.fp32Layers());
            for (QuantizedModel.Execution e : QuantizedModel.Execution.values()) {
                assertEquals(q.outputs(e, x)[0], loaded.outputs(e, x)[0], e.name());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aGraphWhereTwoValuesFlowPastTheUnsupportedLayerIsRefusedNamingThem() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(239)
                .activation(Activation.RELU).graphBuilder().addInputs("in")
                .addLayer("a", new DenseLayer.Builder().nIn(12).nOut(8).build(), "in")
                .addLayer("gate", new ElementWiseMultiplicationLayer.Builder().nIn(8).nOut(8).build(), "a")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "gate", "a")
                .addLayer("out", new OutputLayer.Builder().nIn(8).nOut(4).activation(Activation.SOFTMAX).build(),
                        "sum")
                .setOutputs("out").build());
        net.init();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> Quantizer.quantize(net, TestNetworks.randomIterator(32, 12, 4, 2, 241), KEEPING));
        assertTrue(e.getMessage().contains("cannot be cut before vertex 3 'sum': 2 values cross there [a, gate]"),
                e.getMessage());
    }
}
