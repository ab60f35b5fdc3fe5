package org.quant4j.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quant4j.KerasJson.activation;
import static org.quant4j.KerasJson.batchNorm;
import static org.quant4j.KerasJson.conv;
import static org.quant4j.KerasJson.dense;
import static org.quant4j.KerasJson.flatten;
import static org.quant4j.KerasJson.maxPool;
import static org.quant4j.KerasJson.node;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.QuantizedModel.Execution;
import org.quant4j.Quantizer;
import org.quant4j.TestNetworks;
import org.quant4j.KerasJson;
import org.quant4j.graph.GraphExecution;
import org.quant4j.graph.ModelGraph;

/**
 * Networks imported from Keras JSON configurations through DL4J's Keras import (channels-last layers, generated
 * weights: no .h5 file), converted (against DL4J, fp32, < 1e-5), quantized and run in int8.
 */
class KerasImportTest {

    /**
     * A Keras Sequential CNN, channels-last: Conv2D 3x3 -> BatchNormalization -> ReLU -> MaxPooling2D -> Conv2D 3x3
     * same (ReLU) -> ZeroPadding2D -> Flatten -> Dense (ReLU) -> Dense (softmax), input 16 x 16 x 3.
     */
    static String sequentialCnn() {
        String padding = "{\"class_name\": \"ZeroPadding2D\", \"config\": {\"name\": \"pad\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"padding\": [[1, 0], [0, 1]], \"data_format\": \"channels_last\"}}";
        return KerasJson.sequential("cnn", List.of(
                conv("conv1", 8, 3, "valid", "linear", " \"batch_input_shape\": [null, 16, 16, 3],"),
                batchNorm("bn1"), activation("relu1", "relu"), maxPool("pool1"), conv("conv2", 12, 3, "same", "relu",
                        ""), padding, flatten("flatten"), dense("fc", 24, "relu"), dense("out", 5, "softmax")));
    }

    /** The Keras CNN through DL4J's import, with generated weights and BatchNorm statistics that are not the identity. */
    static MultiLayerNetwork importedCnn(Path dir) throws Exception {
        Path json = dir.resolve("cnn.json");
        Files.writeString(json, sequentialCnn(), StandardCharsets.UTF_8);
        MultiLayerConfiguration conf = KerasModelImport.importKerasSequentialConfiguration(json.toString());
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Nd4j.getRandom().setSeed(151);
        org.deeplearning4j.nn.api.Layer bn = net.getLayer("bn1");
        long channels = bn.getParam("mean").length();
        bn.setParam("mean", Nd4j.rand(DataType.FLOAT, 1, channels).subi(0.5));
        bn.setParam("var", Nd4j.rand(DataType.FLOAT, 1, channels).addi(0.5));
        bn.setParam("gamma", Nd4j.rand(DataType.FLOAT, 1, channels).addi(0.5));
        bn.setParam("beta", Nd4j.rand(DataType.FLOAT, 1, channels).subi(0.5));
        return net;
    }

    @Test
    void kerasSequentialCnnConvertsAndMatchesDl4j(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = importedCnn(dir);
        // Keras import gives channels-last layers
        ConvolutionLayer first = (ConvolutionLayer) Wrappers.unwrap(net.getLayerWiseConfigurations().getConf(0)
                .getLayer());
        assertEquals(CNN2DFormat.NHWC, first.getCnn2dDataFormat());
        String configuration = net.getLayerWiseConfigurations().toJson();
        INDArray params = net.params().dup();
        ModelGraph graph = Dl4jConverter.convert(net);
        // converted as copies set to NCHW, weights permuted as copies: the user's network is only read
        assertEquals(configuration, net.getLayerWiseConfigurations().toJson());
        assertEquals(params, net.params());
        Nd4j.getRandom().setSeed(157);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 16, 16, 3);
        INDArray ours = GraphExecution.output(graph.graph(), Map.of("input", x), graph.outputs())
                .get(graph.outputs().get(0));
        double err = Dl4jConverterTest.relativeError(net.output(x.dup(), false).dup('c'), ours);
        System.out.printf("Keras Sequential CNN (%s): output vs DL4J, max relative error %.2e%n",
                graph.layerOutputs().stream().map(ModelGraph.LayerOutput::type).toList(), err);
        assertTrue(err < 1e-5, "differs from DL4J by " + err);
    }

    @Test
    void kerasSequentialCnnQuantizesAndRunsInt8(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = importedCnn(dir);
        long[] image = {32, 16, 16, 3};
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(32, image, 5, 4, 163),
                QuantizationOptions.builder().weightBits(org.quant4j.runtime.Dnnl.exactInt8Products() ? 8 : 7)
                        .build());
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        long agree = 0;
        long agreeFp32 = 0;
        long total = 0;
        double maxDiff = 0;
        for (int b = 0; b < 8; b++) {
            Nd4j.getRandom().setSeed(167 + b);
            INDArray x = Nd4j.rand(DataType.FLOAT, image);
            INDArray int8 = model.outputs(Execution.INT8, x)[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
            INDArray fp32 = net.output(x, false);
            agree += int8.argMax(1).eq(fake.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            agreeFp32 += int8.argMax(1).eq(fp32.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
            total += x.size(0);
            maxDiff = Math.max(maxDiff, int8.sub(fake).amaxNumber().doubleValue());
        }
        String summary = model.int8Network().summary(new long[] {1, 16, 16, 3});
        System.out.printf("Keras Sequential CNN quantized (%s): int8 vs fake-quant top-1 agreement %.2f%%, max |p diff|"
                + " %.2e; int8 vs DL4J fp32 top-1 agreement %.2f%% on %d random inputs%n", summary,
                100.0 * agree / total, maxDiff, 100.0 * agreeFp32 / total, total);
        // conv1, conv2, fc, out; BatchNorm folded into conv1; no permute island (the input's is a copy); the
        // zero padding is an island (NCHW or NHWC alike)
        assertTrue(summary.startsWith("4 int8 kernels"), summary);
        assertTrue(!summary.contains("permute") && !summary.contains("batchnorm"), summary);
        assertTrue(agree >= 0.99 * total, "int8 vs fake-quant top-1 agreement " + agree + " of " + total);
        assertTrue(maxDiff < 0.05, "largest probability difference " + maxDiff);
        // saved and loaded: the same outputs (the input stays NHWC)
        java.io.ByteArrayOutputStream file = new java.io.ByteArrayOutputStream();
        model.save(file);
        QuantizedModel loaded = QuantizedModel.load(new java.io.ByteArrayInputStream(file.toByteArray()));
        Nd4j.getRandom().setSeed(181);
        INDArray x = Nd4j.rand(DataType.FLOAT, image);
        assertEquals(model.outputs(Execution.INT8, x)[0], loaded.outputs(Execution.INT8, x)[0]);
        assertEquals(model.outputs(Execution.FAKE_QUANT, x)[0], loaded.outputs(Execution.FAKE_QUANT, x)[0]);
    }

    @Tag("slow") // a second quantization: run in mvn verify
    @Test
    void kerasFunctionalModelWithConcatenationConvertsAndQuantizes(@TempDir Path dir) throws Exception {
        String input = "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 10, 10, 3],"
                + " \"dtype\": \"float32\", \"sparse\": false, \"ragged\": false, \"name\": \"image\"},"
                + " \"name\": \"image\", \"inbound_nodes\": []}";
        String a = node(conv("a", 6, 3, "same", "relu", ""), "image");
        String b = node(conv("b", 4, 1, "valid", "relu", ""), "image");
        String cat = "{\"class_name\": \"Concatenate\", \"config\": {\"name\": \"cat\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"axis\": -1}, \"name\": \"cat\", \"inbound_nodes\": [[[\"a\", 0, 0, {}],"
                + " [\"b\", 0, 0, {}]]]}";
        String pool = "{\"class_name\": \"GlobalAveragePooling2D\", \"config\": {\"name\": \"gap\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"data_format\": \"channels_last\"}, \"name\": \"gap\","
                + " \"inbound_nodes\": [[[\"cat\", 0, 0, {}]]]}";
        String out = node(dense("out", 3, "softmax"), "gap");
        String json = "{\"class_name\": \"Functional\", \"config\": {\"name\": \"branches\", \"layers\": ["
                + String.join(", ", input, a, b, cat, pool, out) + "], \"input_layers\": [[\"image\", 0, 0]],"
                + " \"output_layers\": [[\"out\", 0, 0]]}, \"keras_version\": \"2.4.0\", \"backend\": \"tensorflow\"}";
        Path file = dir.resolve("branches.json");
        Files.writeString(file, json, StandardCharsets.UTF_8);
        ComputationGraph net = new ComputationGraph(KerasModelImport.importKerasModelConfiguration(file.toString()));
        net.init();
        Nd4j.getRandom().setSeed(173);
        double err = FrozenAndVerticesTest.graphError(net, Nd4j.rand(DataType.FLOAT, 3, 10, 10, 3));
        System.out.printf("Keras functional model (concatenation, global pooling): max relative error vs DL4J %.2e%n",
                err);
        assertTrue(err < 1e-5, "differs from DL4J by " + err);
        long[] image = {16, 10, 10, 3};
        QuantizedModel model = Quantizer.quantize(net, TestNetworks.randomIterator(16, image, 3, 4, 179),
                QuantizationOptions.builder().weightBits(org.quant4j.runtime.Dnnl.exactInt8Products() ? 8 : 7)
                        .build());
        assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
        INDArray x = Nd4j.rand(DataType.FLOAT, image);
        double diff = model.outputs(Execution.INT8, x)[0].sub(model.outputs(Execution.FAKE_QUANT, x)[0]).amaxNumber()
                .doubleValue();
        String summary = model.int8Network().summary(new long[] {1, 10, 10, 3});
        System.out.printf("Keras functional model quantized (%s): max |int8 - fake-quant| %.2e%n", summary, diff);
        assertTrue(summary.startsWith("3 int8 kernels") && !summary.contains("permute"), summary);
        assertTrue(diff < 0.05, "int8 and fake-quant differ by " + diff);
    }

    /**
     * A Keras Sequential LSTM classifier: LSTM(16, tanh, sigmoid gates, last step only) over 10 steps of 7 features
     * -> Dense(5, softmax). DL4J's import makes it a LastTimeStep(LSTM), NWC; converted against DL4J, quantized
     * (static and dynamic), the LSTM one int8 step in the plan.
     */
    @Test
    void kerasSequentialLstmConvertsQuantizesAndRunsItsLstmInt8(@TempDir Path dir) throws Exception {
        String lstm = "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"trainable\": true,"
                + " \"batch_input_shape\": [null, 10, 7], \"dtype\": \"float32\", \"return_sequences\": false,"
                + " \"return_state\": false, \"go_backwards\": false, \"stateful\": false, \"unroll\": false,"
                + " \"time_major\": false, \"units\": 16, \"activation\": \"tanh\","
                + " \"recurrent_activation\": \"sigmoid\", \"use_bias\": true, " + KerasJson.KERNEL
                + ", \"recurrent_initializer\": {\"class_name\": \"GlorotUniform\", \"config\":"
                + " {\"seed\": null}},"
                + " \"unit_forget_bias\": true, \"recurrent_regularizer\": null, \"recurrent_constraint\": null,"
                + " \"dropout\": 0.0, \"recurrent_dropout\": 0.0, \"implementation\": 2}}";
        String json = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"rnn\", \"layers\": [" + lstm
                + ", " + dense("out", 5, "softmax") + "]}, \"keras_version\": \"2.4.0\","
                + " \"backend\": \"tensorflow\"}";
        Path file = dir.resolve("lstm.json");
        Files.writeString(file, json, StandardCharsets.UTF_8);
        MultiLayerNetwork net = new MultiLayerNetwork(KerasModelImport.importKerasSequentialConfiguration(
                file.toString()));
        net.init();
        Nd4j.getRandom().setSeed(191);
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 10, 7); // uniform in [0, 1), as the calibration batches
        ModelGraph graph = Dl4jConverter.convert(net, 10);
        INDArray ours = GraphExecution.output(graph.graph(), Map.of(graph.inputs().get(0).name(), x),
                graph.outputs()).get(graph.outputs().get(0));
        double err = Dl4jConverterTest.relativeError(net.output(x.dup(), false).dup('c'), ours);
        assertTrue(err < 1e-5, "differs from DL4J by " + err);

        QuantizedModel staticModel = Quantizer.quantize(net, TestNetworks.randomIterator(32, new long[] {32, 10, 7},
                5, 4, 193));
        QuantizedModel dynamicModel = Quantizer.quantizeDynamic(net, 10, QuantizationOptions.defaults());
        for (QuantizedModel model : List.of(staticModel, dynamicModel)) {
            assertEquals(Execution.INT8, model.execution(), "int8 unavailable: " + model.int8Unavailable());
            INDArray int8 = model.outputs(Execution.INT8, x)[0];
            INDArray fake = model.outputs(Execution.FAKE_QUANT, x)[0];
            double diff = int8.sub(fake).amaxNumber().doubleValue();
            double fromFp32 = fake.sub(net.output(x, false)).amaxNumber().doubleValue();
            String summary = model.int8Network().summary(x.shape());
            System.out.printf("Keras LSTM quantized (%s): max |int8 - fake-quant| %.2e, max |fake-quant - fp32|"
                    + " %.2e%n", summary, diff, fromFp32);
            // the input products, the LSTM as one step, the output layer
            assertTrue(summary.startsWith("3 int8 kernels") && !summary.contains("matmul"), summary);
            assertTrue(diff < 3e-3, "int8 and fake-quant differ by " + diff);
            assertTrue(fromFp32 < 0.05, "fake-quant and DL4J fp32 differ by " + fromFp32);
        }
    }
}
