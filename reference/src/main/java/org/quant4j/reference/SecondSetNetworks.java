package org.quant4j.reference;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The configurations of the second set of reference networks ({@link ReferenceNetwork.Group#SECOND}): the kinds of
 * layers DL4J users build that the first four lack (leaky ReLU, ELU, tanh and sigmoid activations, BatchNorm after
 * an activation, concatenated branches, residual adds with projections, average and global max pooling, depthwise
 * and separable convolutions, dropout, tanh and sigmoid dense heads, small and wide layers). Layers with tanh or
 * sigmoid activations start from Xavier initialization, the others from He's.
 */
final class SecondSetNetworks {

    private SecondSetNetworks() {
    }

    /** Adam's learning rate (constant: one epoch). */
    static double learningRate(ReferenceNetwork net) {
        return switch (net) {
            case SIGMOID_LENET_MNIST, SEPARABLE_FASHION -> 5e-3;
            case TANH_MLP_FASHION -> 1e-3;
            default -> 2e-3;
        };
    }

    static Object configuration(ReferenceNetwork net, NeuralNetConfiguration.Builder base) {
        return switch (net) {
            case ELU_MLP_MNIST -> base.list()
                    .layer(dense("fc1", 512, Activation.ELU))
                    .layer(new DropoutLayer.Builder(0.8).name("drop").build())
                    .layer(dense("fc2", 64, Activation.ELU))
                    .layer(output())
                    .setInputType(InputType.convolutional(28, 28, 1)).build();
            case TANH_MLP_FASHION -> base.list()
                    .layer(dense("fc1", 128, Activation.TANH))
                    .layer(dense("fc2", 64, Activation.SIGMOID))
                    .layer(dense("fc3", 32, Activation.TANH))
                    .layer(output())
                    .setInputType(InputType.convolutional(28, 28, 1)).build();
            case LEAKY_CNN_FASHION -> base.convolutionMode(ConvolutionMode.Same).list()
                    .layer(conv("conv1", 3, 16, Activation.LEAKYRELU))
                    .layer(new BatchNormalization.Builder().name("bn1").build())
                    .layer(pool("pool1", PoolingType.AVG))
                    .layer(conv("conv2", 3, 32, Activation.LEAKYRELU))
                    .layer(new BatchNormalization.Builder().name("bn2").build())
                    .layer(pool("pool2", PoolingType.AVG))
                    .layer(dense("fc", 64, Activation.TANH))
                    .layer(output())
                    .setInputType(InputType.convolutional(28, 28, 1)).build();
            case SIGMOID_LENET_MNIST -> base.list()
                    .layer(new ConvolutionLayer.Builder(5, 5).name("conv1").nOut(6)
                            .convolutionMode(ConvolutionMode.Same).activation(Activation.SIGMOID)
                            .weightInit(WeightInit.XAVIER).build())
                    .layer(pool("pool1", PoolingType.AVG))
                    .layer(new ConvolutionLayer.Builder(5, 5).name("conv2").nOut(16)
                            .activation(Activation.SIGMOID).weightInit(WeightInit.XAVIER).build())
                    .layer(pool("pool2", PoolingType.AVG))
                    .layer(dense("fc1", 120, Activation.SIGMOID))
                    .layer(dense("fc2", 84, Activation.SIGMOID))
                    .layer(output())
                    .setInputType(InputType.convolutional(28, 28, 1)).build();
            case INCEPTION_FASHION -> inception(base);
            case SEPARABLE_FASHION -> base.convolutionMode(ConvolutionMode.Same).list()
                    .layer(conv("stem", 3, 16, Activation.ELU))
                    .layer(pool("pool1", PoolingType.MAX))
                    .layer(separable("sep1", 32, Activation.ELU))
                    .layer(new BatchNormalization.Builder().name("bn1").build())
                    .layer(new DepthwiseConvolution2D.Builder(3, 3).name("dw2").depthMultiplier(2)
                            .activation(Activation.ELU).build())
                    .layer(conv("pw2", 1, 64, Activation.ELU))
                    .layer(pool("pool2", PoolingType.MAX))
                    .layer(separable("sep3", 64, Activation.ELU))
                    .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap").build())
                    .layer(output())
                    .setInputType(InputType.convolutional(28, 28, 1)).build();
            case MIXED_GRAPH_FASHION -> mixedGraph(base);
            case WIDE_CNN_FASHION -> base.list()
                    .layer(conv("conv1", 3, 8, Activation.RELU))
                    .layer(pool("pool1", PoolingType.MAX))
                    .layer(pool("pool2", PoolingType.MAX))
                    .layer(dense("fc1", 1024, Activation.RELU))
                    .layer(new DropoutLayer.Builder(0.5).name("drop").build())
                    .layer(dense("fc2", 32, Activation.SIGMOID))
                    .layer(output())
                    .setInputType(InputType.convolutional(28, 28, 1)).build();
            default -> throw new IllegalArgumentException(net + " is not in the second set");
        };
    }

    /**
     * Two inception blocks (1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pooling then 1x1; concatenated), max pooling
     * between, global max pooling.
     */
    private static ComputationGraphConfiguration inception(NeuralNetConfiguration.Builder base) {
        ComputationGraphConfiguration.GraphBuilder g = base.convolutionMode(ConvolutionMode.Same).graphBuilder()
                .addInputs("input").setInputTypes(InputType.convolutional(28, 28, 1));
        g.addLayer("stem", conv("stem", 3, 16, Activation.RELU), "input");
        g.addLayer("pool1", pool("pool1", PoolingType.MAX), "stem");
        String x = inceptionBlock(g, "inc1", "pool1", 8);
        g.addLayer("pool2", pool("pool2", PoolingType.MAX), x);
        x = inceptionBlock(g, "inc2", "pool2", 16);
        g.addLayer("gmp", new GlobalPoolingLayer.Builder(PoolingType.MAX).build(), x);
        g.addLayer("out", output(), "gmp");
        return g.setOutputs("out").build();
    }

    private static String inceptionBlock(ComputationGraphConfiguration.GraphBuilder g, String name, String in,
            int width) {
        g.addLayer(name + "_1x1", conv(null, 1, width, Activation.RELU), in);
        g.addLayer(name + "_3r", conv(null, 1, width, Activation.RELU), in);
        g.addLayer(name + "_3x3", conv(null, 3, 2 * width, Activation.RELU), name + "_3r");
        g.addLayer(name + "_5r", conv(null, 1, width / 2, Activation.RELU), in);
        g.addLayer(name + "_5x5", conv(null, 5, width, Activation.RELU), name + "_5r");
        g.addLayer(name + "_pool", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(1, 1)
                .build(), in);
        g.addLayer(name + "_poolproj", conv(null, 1, width, Activation.RELU), name + "_pool");
        g.addVertex(name, new MergeVertex(), name + "_1x1", name + "_3x3", name + "_5x5", name + "_poolproj");
        return name;
    }

    /**
     * Leaky-ReLU stem with BatchNorm after the activation; two merged branches; a strided residual block whose skip
     * is a 1x1 projection; average pooling; a separable convolution; global average pooling; a tanh dense head.
     */
    private static ComputationGraphConfiguration mixedGraph(NeuralNetConfiguration.Builder base) {
        ComputationGraphConfiguration.GraphBuilder g = base.convolutionMode(ConvolutionMode.Same).graphBuilder()
                .addInputs("input").setInputTypes(InputType.convolutional(28, 28, 1));
        g.addLayer("stem", conv(null, 3, 16, Activation.LEAKYRELU), "input");
        g.addLayer("stem_bn", new BatchNormalization.Builder().build(), "stem");
        g.addLayer("branch_a", conv(null, 1, 16, Activation.LEAKYRELU), "stem_bn");
        g.addLayer("branch_b", conv(null, 3, 16, Activation.LEAKYRELU), "stem_bn");
        g.addVertex("merge", new MergeVertex(), "branch_a", "branch_b");
        g.addLayer("res_conv", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(32)
                .activation(Activation.IDENTITY).build(), "merge");
        g.addLayer("res_bn", new BatchNormalization.Builder().build(), "res_conv");
        g.addLayer("res_proj", new ConvolutionLayer.Builder(1, 1).stride(2, 2).nOut(32)
                .activation(Activation.IDENTITY).build(), "merge");
        g.addVertex("res_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "res_bn", "res_proj");
        g.addLayer("res_act", new ActivationLayer.Builder().activation(Activation.LEAKYRELU).build(), "res_add");
        g.addLayer("avgpool", pool(null, PoolingType.AVG), "res_act");
        g.addLayer("sep", separable(null, 64, Activation.LEAKYRELU), "avgpool");
        g.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "sep");
        g.addLayer("fc", dense(null, 64, Activation.TANH), "gap");
        g.addLayer("out", output(), "fc");
        return g.setOutputs("out").build();
    }

    private static WeightInit init(Activation activation) {
        return activation == Activation.TANH || activation == Activation.SIGMOID ? WeightInit.XAVIER
                : WeightInit.RELU;
    }

    private static DenseLayer dense(String name, int nOut, Activation activation) {
        return new DenseLayer.Builder().name(name).nOut(nOut).activation(activation).weightInit(init(activation))
                .build();
    }

    private static ConvolutionLayer conv(String name, int kernel, int nOut, Activation activation) {
        return new ConvolutionLayer.Builder(kernel, kernel).name(name).nOut(nOut).activation(activation)
                .weightInit(init(activation)).build();
    }

    private static SeparableConvolution2D separable(String name, int nOut, Activation activation) {
        return new SeparableConvolution2D.Builder(3, 3).name(name).nOut(nOut).depthMultiplier(1)
                .activation(activation).build();
    }

    private static SubsamplingLayer pool(String name, PoolingType type) {
        return new SubsamplingLayer.Builder(type).name(name).kernelSize(2, 2).stride(2, 2).build();
    }

    private static OutputLayer output() {
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(10)
                .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build();
    }
}
