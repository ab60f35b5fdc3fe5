package org.quant4j.reference;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.quant4j.data.Dataset;

/**
 * The networks the accuracy study quantizes: trained by quant4j with DL4J, seeded, each saved as a DL4J model file
 * under {@code models/} by {@code quant4j train} (see {@link ReferenceTraining}).
 *
 * <p>Four shapes of network that stress quantization differently: an MLP (dense layers only), LeNet-5 (small
 * convolutions, a large dense layer), a ResNet-style CNN (BatchNorm folded into convolutions, residual adds, global
 * average pooling) and a MobileNet-style CNN (depthwise-separable convolutions: depthwise layers, whose per-channel
 * weight ranges differ by orders of magnitude, are where per-tensor post-training quantization collapses).
 */
public enum ReferenceNetwork {

    /** 784-256-128-10 ReLU MLP on MNIST. */
    MLP_MNIST("mlp-mnist", Dataset.MNIST, 6),
    /** LeNet-5 (conv 5x5 20, pool, conv 5x5 50, pool, dense 500, softmax) with ReLU on MNIST. */
    LENET_MNIST("lenet-mnist", Dataset.MNIST, 5),
    /**
     * A ResNet-style CNN on Fashion-MNIST: a strided 3x3 stem, then three residual blocks (16, 32, 64 channels at
     * 14x14, 7x7, 4x4; 1x1 projections where the shape changes), BatchNorm, global average pooling.
     */
    RESNET_FASHION("resnet-fashion", Dataset.FASHION_MNIST, 6),
    /**
     * A MobileNet-style CNN on Fashion-MNIST: a 3x3 stem at full resolution, then depthwise 3x3 + pointwise 1x1
     * blocks with BatchNorm and ReLU (strided depthwise layers take 28x28 to 14x14 to 7x7; 32 to 128 channels).
     */
    MOBILENET_FASHION("mobilenet-fashion", Dataset.FASHION_MNIST, 5),

    // The second set (SecondSetNetworks): kinds of layers the first four lack, trained briefly on part of the
    // training split; some deliberately undertrained, so that many decisions have small margins.
    /** 784-512-64 ELU MLP with dropout on MNIST: a wide layer, then a small one. */
    ELU_MLP_MNIST("elu-mlp-mnist", Dataset.MNIST, 1, 20_000, Group.SECOND),
    /** Tanh and sigmoid MLP (128 tanh, 64 sigmoid, 32 tanh) on Fashion-MNIST, undertrained. */
    TANH_MLP_FASHION("tanh-mlp-fashion", Dataset.FASHION_MNIST, 1, 10_000, Group.SECOND),
    /** Leaky-ReLU CNN with BatchNorm after the activations, average pooling and a tanh dense head. */
    LEAKY_CNN_FASHION("leaky-cnn-fashion", Dataset.FASHION_MNIST, 1, 15_000, Group.SECOND),
    /** The classic LeNet-5: sigmoid activations and average pooling, undertrained. */
    SIGMOID_LENET_MNIST("sigmoid-lenet-mnist", Dataset.MNIST, 1, 15_000, Group.SECOND),
    /** Inception-style graph: concatenated 1x1, 3x3, 5x5 and pooling branches, global max pooling. */
    INCEPTION_FASHION("inception-fashion", Dataset.FASHION_MNIST, 1, 15_000, Group.SECOND),
    /** ELU CNN of separable and depthwise convolutions (depth multiplier 2), global average pooling. */
    SEPARABLE_FASHION("separable-fashion", Dataset.FASHION_MNIST, 1, 8_000, Group.SECOND),
    /**
     * Mixed graph: leaky ReLU, BatchNorm after activations, merged branches, a residual add with a projection,
     * average pooling, a separable convolution, a tanh dense head; undertrained.
     */
    MIXED_GRAPH_FASHION("mixed-graph-fashion", Dataset.FASHION_MNIST, 1, 8_000, Group.SECOND),
    /** Narrow CNN (8 channels, two max poolings) into a wide dense layer (1024, dropout 0.5), a sigmoid head. */
    WIDE_CNN_FASHION("wide-cnn-fashion", Dataset.FASHION_MNIST, 1, 15_000, Group.SECOND);

    /**
     * Which set a network belongs to: the first four, on which the defaults were developed, or the second set,
     * added to check that the defaults hold on networks nobody tuned them for.
     */
    public enum Group {
        FIRST, SECOND
    }

    /** Seed of every network's initialization and training. */
    public static final long SEED = 20261126L;
    /** Images in the training split of MNIST and Fashion-MNIST. */
    public static final int TRAINING_SPLIT = 60_000;
    /** Training mini-batch size. */
    public static final int BATCH = 128;

    private final String id;
    private final Dataset dataset;
    private final int epochs;
    private final int trainingImages;
    private final Group group;

    ReferenceNetwork(String id, Dataset dataset, int epochs) {
        this(id, dataset, epochs, TRAINING_SPLIT, Group.FIRST);
    }

    ReferenceNetwork(String id, Dataset dataset, int epochs, int trainingImages, Group group) {
        this.id = id;
        this.dataset = dataset;
        this.epochs = epochs;
        this.trainingImages = trainingImages;
        this.group = group;
    }

    /** The name on the command line and of the model file ({@code <id>.zip}). */
    public String id() {
        return id;
    }

    /** The data set it is trained on, calibrated on (training split) and evaluated on (test split). */
    public Dataset dataset() {
        return dataset;
    }

    public int epochs() {
        return epochs;
    }

    /** How many training images it is trained on: the first ones of the training split, in file order. */
    public int trainingImages() {
        return trainingImages;
    }

    public Group group() {
        return group;
    }

    /** The networks of one group, in declaration order. */
    public static List<ReferenceNetwork> of(Group group) {
        return Arrays.stream(values()).filter(n -> n.group == group).toList();
    }

    public String fileName() {
        return id + ".zip";
    }

    /**
     * The networks a command-line name stands for: {@code all}, a group ({@code first}, {@code second}) or one
     * network's id; the error names the known ones.
     */
    public static List<ReferenceNetwork> named(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("all")) {
            return List.of(values());
        }
        for (Group g : Group.values()) {
            if (n.equals(g.name().toLowerCase(Locale.ROOT))) {
                return of(g);
            }
        }
        return List.of(byId(n));
    }

    /** By id, e.g. {@code lenet-mnist}; the error names the known ones. */
    public static ReferenceNetwork byId(String id) {
        for (ReferenceNetwork n : values()) {
            if (n.id.equals(id.toLowerCase(Locale.ROOT))) {
                return n;
            }
        }
        throw new IllegalArgumentException("unknown reference network '" + id + "'; known: all, first, second, "
                + String.join(", ", Arrays.stream(values()).map(ReferenceNetwork::id).toList()));
    }

    /** The configuration: a {@link MultiLayerConfiguration} or a {@link ComputationGraphConfiguration}. */
    public Object configuration() {
        return switch (this) {
            case MLP_MNIST -> mlp();
            case LENET_MNIST -> lenet();
            case RESNET_FASHION -> resnet();
            case MOBILENET_FASHION -> mobilenet();
            default -> SecondSetNetworks.configuration(this, base(SecondSetNetworks.learningRate(this)));
        };
    }

    /**
     * A new network of this configuration with its seeded initial weights (untrained): a {@link MultiLayerNetwork}
     * or a {@link ComputationGraph}.
     */
    public Model untrained() {
        if (configuration() instanceof ComputationGraphConfiguration c) {
            ComputationGraph g = new ComputationGraph(c);
            g.init();
            return g;
        }
        MultiLayerNetwork m = new MultiLayerNetwork((MultiLayerConfiguration) configuration());
        m.init();
        return m;
    }

    /**
     * Adam with the learning rate decayed geometrically per epoch, from {@code lr} in the first epoch to
     * {@code lr / 16} in the last: {@code lr_e = lr * 16^(-e / (epochs - 1))}.
     */
    private Adam updater(double lr) {
        Map<Integer, Double> byEpoch = new HashMap<>();
        for (int e = 0; e < epochs; e++) {
            byEpoch.put(e, epochs == 1 ? lr : lr * Math.pow(16, -(double) e / (epochs - 1)));
        }
        return new Adam(new MapSchedule(ScheduleType.EPOCH, byEpoch));
    }

    NeuralNetConfiguration.Builder base(double lr) {
        return new NeuralNetConfiguration.Builder().seed(SEED).weightInit(WeightInit.RELU).updater(updater(lr))
                .dataType(DataType.FLOAT);
    }

    private MultiLayerConfiguration mlp() {
        return base(1e-3).list()
                .layer(new DenseLayer.Builder().name("fc1").nOut(256).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().name("fc2").nOut(128).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1))
                .build();
    }

    private MultiLayerConfiguration lenet() {
        return base(1e-3).list()
                .layer(new ConvolutionLayer.Builder(5, 5).name("conv1").nOut(20).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).name("conv2").nOut(50).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool2").kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().name("fc1").nOut(500).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1))
                .build();
    }

    private ComputationGraphConfiguration resnet() {
        ComputationGraphConfiguration.GraphBuilder g = base(2e-3).convolutionMode(ConvolutionMode.Same)
                .graphBuilder().addInputs("input").setInputTypes(InputType.convolutional(28, 28, 1));
        String x = convBnRelu(g, "stem", "input", 16, 2, true);
        x = residualBlock(g, "block1", x, 16, 16, 1);
        x = residualBlock(g, "block2", x, 16, 32, 2);
        x = residualBlock(g, "block3", x, 32, 64, 2);
        g.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), x);
        g.addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                .activation(Activation.SOFTMAX).build(), "gap");
        return g.setOutputs("out").build();
    }

    /** conv 3x3 (stride s) - BN [- ReLU]; returns the last vertex. */
    private static String convBnRelu(ComputationGraphConfiguration.GraphBuilder g, String name, String in, int out,
            int stride, boolean relu) {
        g.addLayer(name + "_conv", new ConvolutionLayer.Builder(3, 3).stride(stride, stride).nOut(out)
                .activation(Activation.IDENTITY).hasBias(false).build(), in);
        g.addLayer(name + "_bn", new BatchNormalization.Builder().build(), name + "_conv");
        if (!relu) {
            return name + "_bn";
        }
        g.addLayer(name + "_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), name + "_bn");
        return name + "_relu";
    }

    /** Two conv-BN (ReLU between), plus the input (projected by a strided 1x1 conv-BN when the shape changes), ReLU. */
    private static String residualBlock(ComputationGraphConfiguration.GraphBuilder g, String name, String in, int nIn,
            int out, int stride) {
        String a = convBnRelu(g, name + "a", in, out, stride, true);
        String b = convBnRelu(g, name + "b", a, out, 1, false);
        String skip = in;
        if (stride != 1 || nIn != out) {
            g.addLayer(name + "_proj", new ConvolutionLayer.Builder(1, 1).stride(stride, stride).nOut(out)
                    .activation(Activation.IDENTITY).hasBias(false).build(), in);
            g.addLayer(name + "_projbn", new BatchNormalization.Builder().build(), name + "_proj");
            skip = name + "_projbn";
        }
        g.addVertex(name + "_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), b, skip);
        g.addLayer(name + "_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), name + "_add");
        return name + "_relu";
    }

    private MultiLayerConfiguration mobilenet() {
        NeuralNetConfiguration.ListBuilder b = base(2e-3).convolutionMode(ConvolutionMode.Same).list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("stem_conv").nOut(16)
                        .activation(Activation.IDENTITY).hasBias(false).build())
                .layer(new BatchNormalization.Builder().name("stem_bn").build())
                .layer(new ActivationLayer.Builder().name("stem_relu").activation(Activation.RELU).build());
        int[][] blocks = {{32, 2}, {64, 1}, {128, 2}, {128, 1}};
        for (int i = 0; i < blocks.length; i++) {
            String n = "ds" + (i + 1);
            int stride = blocks[i][1];
            b.layer(new DepthwiseConvolution2D.Builder(3, 3).name(n + "_dw").depthMultiplier(1).stride(stride, stride)
                    .activation(Activation.IDENTITY).hasBias(false).build())
                    .layer(new BatchNormalization.Builder().name(n + "_dwbn").build())
                    .layer(new ActivationLayer.Builder().name(n + "_dwrelu").activation(Activation.RELU).build())
                    .layer(new ConvolutionLayer.Builder(1, 1).name(n + "_pw").nOut(blocks[i][0])
                            .activation(Activation.IDENTITY).hasBias(false).build())
                    .layer(new BatchNormalization.Builder().name(n + "_pwbn").build())
                    .layer(new ActivationLayer.Builder().name(n + "_pwrelu").activation(Activation.RELU).build());
        }
        return b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap").build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(28, 28, 1))
                .build();
    }
}
