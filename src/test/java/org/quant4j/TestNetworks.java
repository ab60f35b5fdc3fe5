package org.quant4j;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small real DL4J networks for tests: seeded, and trained for a few steps so that BatchNorm statistics move. */
public final class TestNetworks {

    private TestNetworks() {
    }

    /** A CNN over 28x28x1 (flat input, as MNIST iterators give it) with every layer type of the first slice. */
    public static MultiLayerNetwork cnn() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(12345).weightInit(WeightInit.XAVIER).updater(new Adam(1e-2)).dataType(DataType.FLOAT)
                .list()
                .layer(new ConvolutionLayer.Builder(5, 5).name("conv1").nOut(6).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new ActivationLayer.Builder().name("relu1").activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).name("conv2").nOut(8).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.LEAKYRELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.AVG).name("pool2").kernelSize(2, 2).stride(2, 2).build())
                .layer(new DropoutLayer.Builder(0.5).name("drop").build())
                .layer(new DenseLayer.Builder().name("fc1").nOut(24).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.fit(randomIterator(16, 784, 10, 4, 1));
        return net;
    }

    /** A CNN ending in global pooling, with an unnamed BatchNorm layer kept on DL4J's default activation. */
    public static MultiLayerNetwork globalPoolingCnn() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(7).weightInit(WeightInit.RELU).updater(new Adam(1e-2)).dataType(DataType.FLOAT)
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).stride(2, 2).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().useLogStd(false).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(12).activation(Activation.RELU).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(5)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(16, 16, 3))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.fit(randomIterator(8, new long[] {8, 3, 16, 16}, 5, 3, 2));
        return net;
    }

    /** A residual ComputationGraph: conv -> (conv + skip) -> merge -> pooling -> dense -> output. */
    public static ComputationGraph residualGraph() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(99).weightInit(WeightInit.XAVIER).updater(new Adam(1e-2)).dataType(DataType.FLOAT)
                .graphBuilder()
                .addInputs("image")
                .addLayer("stem", new ConvolutionLayer.Builder(3, 3).nOut(6).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.RELU).build(), "image")
                .addLayer("branch", new ConvolutionLayer.Builder(3, 3).nOut(6).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build(), "stem")
                .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "stem", "branch")
                .addLayer("relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), "add")
                .addVertex("merge", new MergeVertex(), "relu", "stem")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.MAX).build(), "merge")
                .addLayer("fc", new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build(), "pool")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build(), "fc")
                .setOutputs("out")
                .setInputTypes(InputType.convolutional(12, 12, 2))
                .build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        net.fit(randomIterator(8, new long[] {8, 2, 12, 12}, 4, 3, 3));
        return net;
    }

    /** A graph over 28x28x1 images (flat input "image"), Adam at 3e-3. */
    private static ComputationGraphConfiguration.GraphBuilder mnistGraph(long seed, WeightInit init) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed).weightInit(init).updater(new Adam(3e-3)).dataType(DataType.FLOAT)
                .graphBuilder()
                .addInputs("image")
                .setInputTypes(InputType.convolutionalFlat(28, 28, 1));
    }

    /** A basic residual block {@code <name>_relu}: two 3x3 conv-BN, the second added to {@code input}, then ReLU. */
    private static void basicBlock(ComputationGraphConfiguration.GraphBuilder b, String name, String input,
            int channels) {
        convBnRelu(b, name + "1", input, channels, 3, 1, true);
        convBnRelu(b, name + "2", name + "1_relu", channels, 3, 1, false);
        b.addVertex(name + "_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), input, name + "2_bn");
        b.addLayer(name + "_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), name + "_add");
    }

    /** conv-BN (identity activation, so that the BatchNorm folds) then ReLU as its own layer. */
    private static ComputationGraphConfiguration.GraphBuilder convBnRelu(ComputationGraphConfiguration.GraphBuilder b,
            String name, String input, int out, int kernel, int stride, boolean relu) {
        b.addLayer(name + "_conv", new ConvolutionLayer.Builder(kernel, kernel).stride(stride, stride).nOut(out)
                .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build(), input);
        b.addLayer(name + "_bn", new BatchNormalization.Builder().build(), name + "_conv");
        if (relu) {
            b.addLayer(name + "_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), name + "_bn");
        }
        return b;
    }

    /**
     * A ResNet-style ComputationGraph over 28x28x1: a conv-BN-ReLU stem; a basic block (two conv-BN, the second
     * added to the block's input, then ReLU); a stride-2 block whose skip is a 1x1 stride-2 projection conv-BN;
     * global average pooling, a dense ReLU layer and a softmax output.
     */
    public static ComputationGraph resNetStyle() {
        ComputationGraphConfiguration.GraphBuilder b = mnistGraph(2024, WeightInit.RELU);
        convBnRelu(b, "stem", "image", 12, 3, 1, true);
        basicBlock(b, "a", "stem_relu", 12);
        convBnRelu(b, "b1", "a_relu", 24, 3, 2, true);
        convBnRelu(b, "b2", "b1_relu", 24, 3, 1, false);
        convBnRelu(b, "bproj", "a_relu", 24, 1, 2, false);
        b.addVertex("b_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "bproj_bn", "b2_bn");
        b.addLayer("b_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), "b_add");
        b.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "b_relu");
        b.addLayer("fc", new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build(), "gap");
        b.addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                .activation(Activation.SOFTMAX).build(), "fc");
        b.setOutputs("out");
        ComputationGraph net = new ComputationGraph(b.build());
        net.init();
        return net;
    }

    /**
     * A residual block whose input is read again after the add: a conv-BN-ReLU stem, a basic block (two conv-BN,
     * the second added to the stem, then ReLU), the block's output concatenated with the stem (a MergeVertex: the
     * stem is read after the add), global average pooling, softmax. The int8 plan must then add into a copy of the
     * stem, not into the stem's own buffer.
     */
    public static ComputationGraph residualReadAfterTheAdd() {
        ComputationGraphConfiguration.GraphBuilder b = mnistGraph(2031, WeightInit.RELU);
        convBnRelu(b, "stem", "image", 12, 3, 2, true);
        basicBlock(b, "a", "stem_relu", 12);
        b.addVertex("merge", new MergeVertex(), "a_relu", "stem_relu");
        b.addLayer("mix", new ConvolutionLayer.Builder(1, 1).nOut(16).activation(Activation.RELU).build(), "merge");
        b.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "mix");
        b.addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                .activation(Activation.SOFTMAX).build(), "gap");
        b.setOutputs("out");
        ComputationGraph net = new ComputationGraph(b.build());
        net.init();
        return net;
    }

    /**
     * A SqueezeNet-style graph over 28x28x1, with the zoo SqueezeNet's op mix: convolutions whose activation is a
     * sigmoid (the zoo's layers keep DL4J's default) followed by a ReLU layer, fire modules (a 1x1 squeeze, then 1x1
     * and 3x3 expands concatenated by a MergeVertex), max pooling; a 1x1 ReLU convolution, global average pooling,
     * softmax.
     */
    public static ComputationGraph squeezeNetStyle() {
        ComputationGraphConfiguration.GraphBuilder b = mnistGraph(2027, WeightInit.XAVIER);
        b.addLayer("stem", new ConvolutionLayer.Builder(3, 3).nOut(16).activation(Activation.SIGMOID).build(), "image");
        b.addLayer("stem_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), "stem");
        b.addLayer("pool", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                "stem_relu");
        String in = "pool";
        for (String f : new String[] {"fire1", "fire2"}) {
            b.addLayer(f + "_sq", new ConvolutionLayer.Builder(1, 1).nOut(8).activation(Activation.SIGMOID).build(), in);
            b.addLayer(f + "_sq_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), f + "_sq");
            b.addLayer(f + "_e1", new ConvolutionLayer.Builder(1, 1).nOut(16).activation(Activation.SIGMOID).build(),
                    f + "_sq_relu");
            b.addLayer(f + "_e1_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), f + "_e1");
            b.addLayer(f + "_e3", new ConvolutionLayer.Builder(3, 3).nOut(16).convolutionMode(ConvolutionMode.Same)
                    .activation(Activation.SIGMOID).build(), f + "_sq_relu");
            b.addLayer(f + "_e3_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), f + "_e3");
            b.addVertex(f + "_concat", new MergeVertex(), f + "_e1_relu", f + "_e3_relu");
            in = f + "_concat";
        }
        b.addLayer("last", new ConvolutionLayer.Builder(1, 1).nOut(24).activation(Activation.RELU).build(), in);
        b.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "last");
        b.addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                .activation(Activation.SOFTMAX).build(), "gap");
        b.setOutputs("out");
        ComputationGraph net = new ComputationGraph(b.build());
        net.init();
        return net;
    }

    /**
     * A MobileNet-style network over 28x28x1: a conv-BN-ReLU stem (stride 2), then twice a depthwise 3x3 conv-BN-ReLU
     * and a pointwise 1x1 conv-BN-ReLU (the second depthwise with stride 2), global average pooling, a dense softmax
     * output.
     */
    public static MultiLayerNetwork mobileNetStyle() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(77).weightInit(WeightInit.RELU).updater(new Adam(3e-3)).dataType(DataType.FLOAT)
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(16).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(1).nOut(16)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(1, 1).nOut(32).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new DepthwiseConvolution2D.Builder(3, 3).stride(2, 2).depthMultiplier(1).nOut(32)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new ConvolutionLayer.Builder(1, 1).nOut(48).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /**
     * A CNN over 28x28x1 with ops that have no integer kernel: a BatchNorm after a ReLU (not foldable) and a local
     * response normalization, between quantized convolutions; max pooling, a dense ReLU layer, a softmax output.
     */
    public static MultiLayerNetwork islandCnn() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(5).weightInit(WeightInit.RELU).updater(new Adam(3e-3)).dataType(DataType.FLOAT)
                .list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(12).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(16).activation(Activation.RELU).build())
                .layer(new LocalResponseNormalization.Builder().build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(16).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** Seeded uniform [0, 1) features of shape [batch, features] with random one-hot labels. */
    public static DataSetIterator randomIterator(int batch, int features, int classes, int batches, long seed) {
        return randomIterator(batch, new long[] {batch, features}, classes, batches, seed);
    }

    /** Seeded uniform [0, 1) features of the given batch shape with random one-hot labels. */
    public static DataSetIterator randomIterator(int batch, long[] shape, int classes, int batches, long seed) {
        Nd4j.getRandom().setSeed(seed);
        java.util.List<DataSet> list = new java.util.ArrayList<>();
        for (int i = 0; i < batches; i++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, shape);
            INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
            for (int r = 0; r < batch; r++) {
                y.putScalar(r, Nd4j.getRandom().nextInt(classes), 1.0);
            }
            list.add(new DataSet(x, y));
        }
        return new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(list, 1);
    }
}
