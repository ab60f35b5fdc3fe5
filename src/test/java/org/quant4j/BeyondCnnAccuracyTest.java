package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.modelimport.keras.config.KerasModelConfiguration;
import org.deeplearning4j.nn.modelimport.keras.utils.KerasModelBuilder;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.HeldOutAccuracy.Row;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;

/**
 * Issue #20's accuracy study beyond CNNs (docs/ACCURACY.md, "Beyond CNNs"): five networks a DL4J user builds,
 * trained here (seeded, one epoch on the first 6,000 training images of their data set, batch 32), each quantized
 * W8A8 with the default options on three calibration draws of 512 training images and dynamically
 * ({@link Quantizer#quantizeDynamic}, no data), measured on the 10,000 test images through the fake-quant graph and
 * the int8 plan ({@link HeldOutAccuracy}). Each must lose at most 0.3 points of top-1 (static: mean of the draws),
 * and its int8 plan agree with its fake-quant graph on at least 99.9 % of the test inputs. One short epoch leaves
 * the networks far from their data sets' best: they measure the drop, not the task.
 */
@Tag("slow")
class BeyondCnnAccuracyTest {

    private static final int DRAWS = 3;
    private static final int TRAIN = 6_000;

    private static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().seed(20).dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER)
                .updater(new Adam(1e-2));
    }

    private static OutputLayer softmax(String name) {
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name(name).nOut(10)
                .activation(Activation.SOFTMAX).build();
    }

    private static void fit(MultiLayerNetwork net, INDArray features, INDArray labels) {
        net.fit(new ListDataSetIterator<>(new DataSet(features, labels).asList(), 32));
    }

    /** Images [N, 784] as sequences [N, 28 steps (rows), 28 features (a row's pixels)], NWC. */
    private static INDArray rowsNwc(INDArray images) {
        return images.reshape('c', images.size(0), 28, 28).castTo(DataType.FLOAT);
    }

    /** Images [N, 784] as sequences [N, 28 features, 28 steps], NCW. */
    private static INDArray rowsNcw(INDArray images) {
        return rowsNwc(images).permute(0, 2, 1).dup('c');
    }

    /** Images [N, 784] as [N, 28, 28, 1], channels-last. */
    private static INDArray nhwc(INDArray images) {
        return images.reshape('c', images.size(0), 28, 28, 1).castTo(DataType.FLOAT);
    }

    private static Row measure(String name, MultiLayerNetwork net, INDArray trainX, INDArray trainY,
            LabeledImages test, INDArray testX, long sequenceLength) {
        QuantizedModel dynamic = sequenceLength > 0
                ? Quantizer.quantizeDynamic(net, sequenceLength, QuantizationOptions.defaults())
                : Quantizer.quantizeDynamic(net);
        long[] shape = testX.shape().clone();
        shape[0] = 1000;
        Row row = HeldOutAccuracy.measure(name, x -> net.output(x, false), testX, test.labels(), DRAWS,
                d -> Quantizer.quantize(net, HeldOutAccuracy.calibrationDraw(trainX, trainY, d)), dynamic, shape);
        System.out.print(row.describe());
        return row;
    }

    @Test
    void lstmOnImageRows() {
        Datasets data = Datasets.fromEnvironment();
        LabeledImages train = data.load(Dataset.MNIST, Split.TRAIN, Subset.first(TRAIN));
        LabeledImages test = data.load(Dataset.MNIST, Split.TEST, Subset.all());
        MultiLayerNetwork net = new MultiLayerNetwork(base().list()
                .layer(new LastTimeStep(new LSTM.Builder().name("lstm").nOut(32).activation(Activation.TANH)
                        .dataFormat(RNNFormat.NWC).build()))
                .layer(softmax("out"))
                .setInputType(InputType.recurrent(28, 28, RNNFormat.NWC)).build());
        net.init();
        INDArray trainX = rowsNwc(train.features());
        fit(net, trainX, train.labels());
        measure("LastTimeStep(LSTM 32) -> softmax, MNIST rows", net, trainX, train.labels(), test,
                rowsNwc(test.features()), 28).assertWithinIssueBounds(70);
    }

    @Test
    void lstmWithSelfAttentionOnImageRows() {
        Datasets data = Datasets.fromEnvironment();
        LabeledImages train = data.load(Dataset.MNIST, Split.TRAIN, Subset.first(TRAIN));
        LabeledImages test = data.load(Dataset.MNIST, Split.TEST, Subset.all());
        // DL4J's attention layers take NCW only
        MultiLayerNetwork net = new MultiLayerNetwork(base().list()
                .layer(new LSTM.Builder().name("lstm").nOut(32).activation(Activation.TANH).build())
                .layer(new SelfAttentionLayer.Builder().name("attention").nOut(32).nHeads(2).projectInput(true)
                        .build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build())
                .layer(softmax("out"))
                .setInputType(InputType.recurrent(28, 28, RNNFormat.NCW)).build());
        net.init();
        INDArray trainX = rowsNcw(train.features());
        fit(net, trainX, train.labels());
        measure("LSTM 32 -> SelfAttention (2 heads) -> average pooling -> softmax, MNIST rows", net, trainX,
                train.labels(), test, rowsNcw(test.features()), 28).assertWithinIssueBounds(70);
    }

    /**
     * An image as 49 tokens: its 7 x 7 grid of 4 x 4 patches, each patch's mean intensity in 8 levels; token
     * {@code 8 p + level} for patch {@code p} (a vocabulary of 392).
     */
    static INDArray patchTokens(INDArray images) {
        float[][] pixels = images.reshape('c', images.size(0), 784).castTo(DataType.FLOAT).toFloatMatrix();
        float[][] tokens = new float[pixels.length][49];
        for (int i = 0; i < pixels.length; i++) {
            for (int p = 0; p < 49; p++) {
                int top = 4 * (p / 7);
                int left = 4 * (p % 7);
                double sum = 0;
                for (int r = 0; r < 4; r++) {
                    for (int c = 0; c < 4; c++) {
                        sum += pixels[i][28 * (top + r) + left + c];
                    }
                }
                tokens[i][p] = 8 * p + Math.min(7, (int) (sum / 16 * 8));
            }
        }
        return Nd4j.createFromArray(tokens);
    }

    @Test
    void embeddingBagOfPatchTokens() {
        Datasets data = Datasets.fromEnvironment();
        LabeledImages train = data.load(Dataset.FASHION_MNIST, Split.TRAIN, Subset.first(TRAIN));
        LabeledImages test = data.load(Dataset.FASHION_MNIST, Split.TEST, Subset.all());
        MultiLayerNetwork net = new MultiLayerNetwork(base().list()
                .layer(new EmbeddingSequenceLayer.Builder().name("embedding").nIn(392).nOut(32).inputLength(49)
                        .build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("pool").build())
                .layer(new DenseLayer.Builder().name("fc").nIn(32).nOut(64).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(64).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        INDArray trainX = patchTokens(train.features());
        fit(net, trainX, train.labels());
        measure("EmbeddingSequence(392 x 32) -> average pooling -> dense 64 -> softmax, Fashion-MNIST patch tokens",
                net, trainX, train.labels(), test, patchTokens(test.features()), 49).assertWithinIssueBounds(70);
    }

    @Test
    void transferLearnedCnnWithFrozenLayers() {
        Datasets data = Datasets.fromEnvironment();
        LabeledImages mnist = data.load(Dataset.MNIST, Split.TRAIN, Subset.first(TRAIN));
        MultiLayerNetwork digits = new MultiLayerNetwork(base().updater(new Adam(1e-3)).list()
                .layer(new ConvolutionLayer.Builder(5, 5).name("conv1").nOut(16).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2)
                        .build())
                .layer(new ConvolutionLayer.Builder(5, 5).name("conv2").nOut(32).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool2").kernelSize(2, 2).stride(2, 2)
                        .build())
                .layer(new DenseLayer.Builder().name("fc").nOut(64).activation(Activation.RELU).build())
                .layer(softmax("out"))
                .setInputType(InputType.convolutional(28, 28, 1)).build());
        digits.init();
        fit(digits, mnist.features(), mnist.labels());
        // the digits' convolutions frozen, a new head fine-tuned on clothes
        MultiLayerNetwork clothes = new TransferLearning.Builder(digits)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Adam(1e-3)).seed(21).build())
                .setFeatureExtractor(3)
                .removeLayersFromOutput(2)
                .addLayer(new DenseLayer.Builder().name("fc2").nIn(512).nOut(64).activation(Activation.RELU)
                        .weightInit(WeightInit.XAVIER).build())
                .addLayer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out2").nIn(64).nOut(10)
                        .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build())
                .build();
        LabeledImages train = data.load(Dataset.FASHION_MNIST, Split.TRAIN, Subset.first(TRAIN));
        LabeledImages test = data.load(Dataset.FASHION_MNIST, Split.TEST, Subset.all());
        fit(clothes, train.features(), train.labels());
        measure("transfer-learned CNN: MNIST convolutions frozen (FrozenLayer), new head on Fashion-MNIST", clothes,
                train.features(), train.labels(), test, test.features(), 0).assertWithinIssueBounds(70);
    }

    @Test
    void kerasImportedCnn() throws Exception {
        String json = KerasJson.sequential("cnn", List.of(
                KerasJson.conv("conv1", 16, 3, "valid", "linear", " \"batch_input_shape\": [null, 28, 28, 1],"),
                KerasJson.batchNorm("bn1"), KerasJson.activation("relu1", "relu"), KerasJson.maxPool("pool1"),
                KerasJson.conv("conv2", 32, 3, "valid", "relu", ""), KerasJson.maxPool("pool2"),
                KerasJson.flatten("flatten"), KerasJson.dense("fc", 64, "relu"),
                KerasJson.dense("out", 10, "softmax")));
        // the training configuration Keras keeps beside the model (categorical cross-entropy, Adam), so that DL4J
        // adds the loss layer that training needs
        String training = "{\"loss\": \"categorical_crossentropy\", \"metrics\": [\"accuracy\"], \"loss_weights\":"
                + " null, \"sample_weight_mode\": null, \"optimizer_config\": {\"class_name\": \"Adam\", \"config\":"
                + " {\"name\": \"Adam\", \"learning_rate\": 0.001, \"decay\": 0.0, \"beta_1\": 0.9, \"beta_2\": 0.999,"
                + " \"epsilon\": 1e-07, \"amsgrad\": false}}}";
        MultiLayerConfiguration conf = new KerasModelBuilder(new KerasModelConfiguration()).modelJson(json)
                .trainingJson(training).enforceTrainingConfig(true).buildSequential().getMultiLayerConfiguration();
        // the import gives each layer a Dropout of retain probability 1, whose backward pass DL4J M2.1 fails on a
        // channels-last convolution (a multiply of NCHW and NHWC shapes): training without it is the same training
        for (var c : conf.getConfs()) {
            if (c.getLayer().getIDropout() instanceof Dropout d) {
                assertEquals(1.0, d.getP(), c.getLayer().getLayerName() + ": a real dropout");
            }
            c.getLayer().setIDropout(null);
            c.setSeed(20); // the import seeds each layer from the clock
        }
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        System.out.println("Keras-imported CNN: " + net.summary());
        Datasets data = Datasets.fromEnvironment();
        LabeledImages train = data.load(Dataset.FASHION_MNIST, Split.TRAIN, Subset.first(TRAIN));
        LabeledImages test = data.load(Dataset.FASHION_MNIST, Split.TEST, Subset.all());
        INDArray trainX = nhwc(train.features());
        fit(net, trainX, train.labels());
        measure("Keras-imported CNN (Sequential JSON, channels-last: conv, BatchNorm, ReLU, pools, dense), Fashion-MNIST",
                net, trainX, train.labels(), test, nhwc(test.features()), 0).assertWithinIssueBounds(70);
    }
}
