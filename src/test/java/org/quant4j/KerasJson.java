package org.quant4j;

import java.util.List;

/**
 * Keras layer configurations as Keras 2.4 writes them in a model's JSON (channels-last), for networks built through
 * DL4J's Keras import in tests: no .h5 file, the weights generated or trained in DL4J.
 */
public final class KerasJson {

    /** A kernel's and a bias's initializers, regularizers and constraints, as Keras writes them. */
    public static final String KERNEL = "\"kernel_initializer\": {\"class_name\": \"GlorotUniform\", \"config\":"
            + " {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}},"
            + " \"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null,"
            + " \"kernel_constraint\": null, \"bias_constraint\": null";

    private KerasJson() {
    }

    /** Conv2D with a k x k kernel, stride 1; {@code extra} is inserted in its config (e.g. a batch input shape). */
    public static String conv(String name, int filters, int k, String padding, String activation, String extra) {
        return "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"" + name + "\", \"trainable\": true," + extra
                + " \"dtype\": \"float32\", \"filters\": " + filters + ", \"kernel_size\": [" + k + ", " + k + "],"
                + " \"strides\": [1, 1], \"padding\": \"" + padding + "\", \"data_format\": \"channels_last\","
                + " \"dilation_rate\": [1, 1], \"activation\": \"" + activation + "\", \"use_bias\": true, " + KERNEL
                + "}}";
    }

    public static String batchNorm(String name) {
        return "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"" + name + "\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"axis\": -1, \"momentum\": 0.99, \"epsilon\": 0.001, \"center\": true,"
                + " \"scale\": true, \"beta_initializer\": {\"class_name\": \"Zeros\", \"config\": {}},"
                + " \"gamma_initializer\": {\"class_name\": \"Ones\", \"config\": {}},"
                + " \"moving_mean_initializer\": {\"class_name\": \"Zeros\", \"config\": {}},"
                + " \"moving_variance_initializer\": {\"class_name\": \"Ones\", \"config\": {}},"
                + " \"beta_regularizer\": null, \"gamma_regularizer\": null, \"beta_constraint\": null,"
                + " \"gamma_constraint\": null}}";
    }

    /** MaxPooling2D 2 x 2, stride 2. */
    public static String maxPool(String name) {
        return "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"" + name + "\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": [2, 2],"
                + " \"data_format\": \"channels_last\"}}";
    }

    public static String dense(String name, int units, String activation) {
        return "{\"class_name\": \"Dense\", \"config\": {\"name\": \"" + name + "\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"units\": " + units + ", \"activation\": \"" + activation + "\","
                + " \"use_bias\": true, " + KERNEL + "}}";
    }

    public static String activation(String name, String activation) {
        return "{\"class_name\": \"Activation\", \"config\": {\"name\": \"" + name + "\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"activation\": \"" + activation + "\"}}";
    }

    public static String flatten(String name) {
        return "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"" + name + "\", \"trainable\": true,"
                + " \"dtype\": \"float32\", \"data_format\": \"channels_last\"}}";
    }

    /** A Sequential model of these layers (the first names the batch input shape). */
    public static String sequential(String name, List<String> layers) {
        return "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"" + name + "\", \"layers\": ["
                + String.join(", ", layers) + "]}, \"keras_version\": \"2.4.0\", \"backend\": \"tensorflow\"}";
    }

    /** A layer of a Functional model: the layer's JSON with its name and one inbound node. */
    public static String node(String layer, String inbound) {
        String name = layer.substring(layer.indexOf("\"name\": \"") + 9);
        name = name.substring(0, name.indexOf('"'));
        return layer.substring(0, layer.length() - 1) + ", \"name\": \"" + name + "\", \"inbound_nodes\": [[[\""
                + inbound + "\", 0, 0, {}]]]}";
    }
}
