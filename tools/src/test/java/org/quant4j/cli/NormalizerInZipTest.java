package org.quant4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import javax.imageio.ImageIO;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.ViewIterator;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerMinMaxScaler;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.graph.TensorQuantization;

/**
 * A normalizer saved in the DL4J model zip ({@code ModelSerializer.addNormalizerToModel}) through the command line:
 * a CNN trained here on an image folder with a NormalizerStandardize (fitted on pixel values 0..255) and an MLP on a
 * CSV table of wide-ranged columns with a NormalizerMinMaxScaler, each saved with its normalizer, are quantized and
 * evaluated by {@code quant4j} on their own raw data. The printed accuracies equal DL4J's on the normalized data and
 * the Java API's ({@code inputNormalizer}) on the raw data; without the normalizer ({@code --no-normalizer}) the
 * solved ranges differ, so it really is applied.
 */
class NormalizerInZipTest {

    private static final int SIDE = 8;
    private static final int PER_CLASS = 12;
    private static final int FEATURES = 4;
    private static final int ROWS = 60;
    /** The CSV's columns: value = OFFSET + SPAN * u, u uniform in [0, 1). */
    private static final float[] OFFSET = {500, -3, 0.25f, 20_000};
    private static final float[] SPAN = {1000, 6, 0.5f, 8000};

    @TempDir
    static Path dir;
    static Path images;
    static DataSet imageData;
    static NormalizerStandardize imageNormalizer;
    static MultiLayerNetwork imageNet;
    static Path imageModel;
    static Path csv;
    static DataSet tableData;
    static NormalizerMinMaxScaler tableNormalizer;
    static MultiLayerNetwork tableNet;
    static Path tableModel;

    @BeforeAll
    static void writeDataAndTrain() throws IOException {
        images = dir.resolve("images");
        imageData = writeImages(images);
        imageNormalizer = new NormalizerStandardize();
        imageNormalizer.fit(imageData);
        imageNet = train(imageCnn(), normalized(imageNormalizer, imageData));
        imageModel = TinyNetworks.save(imageNet, dir.resolve("image-net.zip"));
        ModelSerializer.addNormalizerToModel(imageModel.toFile(), imageNormalizer);

        csv = dir.resolve("table.csv");
        tableData = writeCsv(csv);
        tableNormalizer = new NormalizerMinMaxScaler(-1, 1);
        tableNormalizer.fit(tableData);
        tableNet = train(tableMlp(), normalized(tableNormalizer, tableData));
        tableModel = TinyNetworks.save(tableNet, dir.resolve("table-net.zip"));
        ModelSerializer.addNormalizerToModel(tableModel.toFile(), tableNormalizer);
    }

    @Test
    void anImageFolderModelWithItsStandardizerIsQuantizedAndEvaluatedAsTheJavaApiDoes() throws IOException {
        Path q4j = dir.resolve("image-net.q4j");
        MainTest.Run quantized = MainTest.run("quantize", imageModel.toString(), "--calibration", images.toString(),
                "-o", q4j.toString());
        assertEquals(0, quantized.code(), quantized.err());
        assertTrue(quantized.out().contains("normalizer: NormalizerStandardize (x - "), quantized.out());
        assertTrue(quantized.out().contains("input normalizer built in (takes raw data): NormalizerStandardize"),
                quantized.out());
        MainTest.Run eval = MainTest.run("eval", imageModel.toString(), q4j.toString(), "--data", images.toString());
        assertEquals(0, eval.code(), eval.err());
        System.out.println("image folder, quant4j eval:\n" + eval.out());
        assertTrue(outputSqnr(eval.out()) > 30, eval.out());
        assertFalse(eval.out().contains("warning"), eval.out());

        QuantizedModel api = Quantizer.quantize(imageNet, new ViewIterator(imageData, 64),
                QuantizationOptions.builder().inputNormalizer(imageNormalizer).build());
        double apiAccuracy = api.evaluate(new ViewIterator(imageData, 250)).accuracy();
        double fp32Accuracy = imageNet.evaluate(new ViewIterator(normalized(imageNormalizer, imageData), 250))
                .accuracy();
        assertTrue(apiAccuracy >= 0.9, "the network learned the two classes: " + apiAccuracy);
        assertTrue(eval.out().contains(accuracyLine(2 * PER_CLASS, fp32Accuracy, apiAccuracy)), eval.out());

        assertRangesDifferWithoutTheNormalizer(q4j, imageModel, "--calibration", images.toString());
        MainTest.Run bench = MainTest.run("bench", imageModel.toString(), q4j.toString(), "--batches", "1",
                "--warmup", "0", "--batch-size", "2", "--input-shape", "1," + SIDE + "," + SIDE);
        assertEquals(0, bench.code(), bench.err());
        assertTrue(bench.out().contains("normalizer: NormalizerStandardize"), bench.out());

        // ranges and report calibrate (again) with the normalizer built in: the report's statistics are found.
        MainTest.Run ranges = MainTest.run("ranges", imageModel.toString(), "--calibration", images.toString(),
                "--methods", "mse,minmax");
        assertEquals(0, ranges.code(), ranges.err());
        assertTrue(ranges.out().contains("input:normalized"), ranges.out());
        Path report = dir.resolve("image-report");
        MainTest.Run written = MainTest.run("report", q4j.toString(), "-o", report.toString(), "--model",
                imageModel.toString(), "--calibration", images.toString());
        assertEquals(0, written.code(), written.err());
        assertTrue(Files.readString(report.resolve("report.json")).contains("input:normalized"));
        assertTrue(Files.readString(report.resolve("index.html")).contains(
                "input normalizer built in (the model takes raw data): NormalizerStandardize"));
    }

    /** A normalizer quant4j cannot build in fails the command naming its class, and --no-normalizer skips it. */
    @Test
    void aNormalizerThatAlsoNormalizesLabelsIsRefusedNamingIt() throws IOException {
        NormalizerStandardize labels = new NormalizerStandardize();
        labels.fitLabel(true);
        labels.fit(tableData);
        Path model = TinyNetworks.save(tableNet, dir.resolve("label-normalized.zip"));
        ModelSerializer.addNormalizerToModel(model.toFile(), labels);
        String[] data = {"--calibration", csv.toString(), "--label-column", String.valueOf(FEATURES), "--skip-lines",
                "1"};
        Path q4j = dir.resolve("label-normalized.q4j");
        MainTest.Run run = MainTest.run(concat(new String[] {"quantize", model.toString(), "-o", q4j.toString()},
                data));
        assertEquals(Main.FAILED, run.code(), run.err());
        assertTrue(run.err().contains(model + ": input normalizer NormalizerStandardize also normalizes labels")
                && run.err().contains("--no-normalizer"), run.err());
        assertTrue(Files.notExists(q4j));
        assertEquals(0, MainTest.run(concat(new String[] {"quantize", model.toString(), "--no-normalizer", "-o",
                q4j.toString()}, data)).code());
    }

    /** An unreadable normalizer.bin fails the command naming the file and entry; --no-normalizer leaves it unread. */
    @Test
    void anUnreadableNormalizerFailsNamingTheFileUnlessIgnored() throws IOException {
        Path model = dir.resolve("damaged-normalizer.zip");
        try (var in = new java.util.zip.ZipInputStream(Files.newInputStream(tableModel));
                var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(model))) {
            java.util.zip.ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                out.putNextEntry(new java.util.zip.ZipEntry(e.getName()));
                out.write(e.getName().equals(ModelSerializer.NORMALIZER_BIN) ? new byte[] {1, 2, 3}
                        : in.readAllBytes());
                out.closeEntry();
            }
        }
        String[] data = {"--calibration", csv.toString(), "--label-column", String.valueOf(FEATURES), "--skip-lines",
                "1", "-o", dir.resolve("damaged.q4j").toString()};
        MainTest.Run run = MainTest.run(concat(new String[] {"quantize", model.toString()}, data));
        assertEquals(Main.FAILED, run.code(), run.err());
        assertTrue(run.err().contains(model + ": its normalizer (normalizer.bin) is not readable"), run.err());
        MainTest.Run ignored = MainTest.run(concat(new String[] {"quantize", model.toString(), "--no-normalizer"},
                data));
        assertEquals(0, ignored.code(), ignored.err());
        assertTrue(ignored.out().contains("normalizer: saved in " + model + ", ignored (--no-normalizer)"),
                ignored.out());
    }

    @Test
    void aCsvModelWithItsMinMaxScalerIsQuantizedAndEvaluatedAsTheJavaApiDoes() throws IOException {
        Path q4j = dir.resolve("table-net.q4j");
        String[] data = {"--label-column", String.valueOf(FEATURES), "--skip-lines", "1"};
        MainTest.Run quantized = MainTest.run(concat(new String[] {"quantize", tableModel.toString(),
                "--calibration", csv.toString(), "-o", q4j.toString()}, data));
        assertEquals(0, quantized.code(), quantized.err());
        assertTrue(quantized.out().contains("normalizer: NormalizerMinMaxScaler (per feature or channel, 4 values)"),
                quantized.out());
        MainTest.Run eval = MainTest.run(concat(new String[] {"eval", tableModel.toString(), q4j.toString(),
                "--data", csv.toString()}, data));
        assertEquals(0, eval.code(), eval.err());
        System.out.println("CSV table, quant4j eval:\n" + eval.out());
        assertTrue(outputSqnr(eval.out()) > 30, eval.out());

        QuantizedModel api = Quantizer.quantize(tableNet, new ViewIterator(tableData, 64),
                QuantizationOptions.builder().inputNormalizer(tableNormalizer).build());
        double apiAccuracy = api.evaluate(new ViewIterator(tableData, 250)).accuracy();
        double fp32Accuracy = tableNet.evaluate(new ViewIterator(normalized(tableNormalizer, tableData), 250))
                .accuracy();
        assertTrue(apiAccuracy >= 0.85, "the network learned the table: " + apiAccuracy);
        assertTrue(eval.out().contains(accuracyLine(ROWS, fp32Accuracy, apiAccuracy)), eval.out());

        assertRangesDifferWithoutTheNormalizer(q4j, tableModel, concat(new String[] {"--calibration",
                csv.toString()}, data));

        // A quantized model without the normalizer evaluated against the fp32 network with it: a warning says so.
        Path plain = dir.resolve("table-plain.q4j");
        assertEquals(0, MainTest.run(concat(new String[] {"quantize", tableModel.toString(), "--no-normalizer",
                "--calibration", csv.toString(), "-o", plain.toString()}, data)).code());
        MainTest.Run mixed = MainTest.run(concat(new String[] {"eval", tableModel.toString(), plain.toString(),
                "--data", csv.toString()}, data));
        assertEquals(0, mixed.code(), mixed.err());
        assertTrue(mixed.out().contains("warning: " + plain + " has no normalizer built in"), mixed.out());
        System.out.println("CSV table, quantized without the normalizer, quant4j eval:\n" + mixed.out());
        assertTrue(outputSqnr(mixed.out()) < outputSqnr(eval.out()) - 20, mixed.out());
    }

    /**
     * The model quantized with {@code --no-normalizer} on the same data has no normalizer built in, and the range of
     * the first quantized activation (the network's input, normalized or not) differs.
     */
    private static void assertRangesDifferWithoutTheNormalizer(Path q4j, Path model, String... data)
            throws IOException {
        Path without = dir.resolve("without-" + q4j.getFileName());
        MainTest.Run run = MainTest.run(concat(new String[] {"quantize", model.toString(), "--no-normalizer", "-o",
                without.toString()}, data));
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("ignored (--no-normalizer)"), run.out());
        QuantizedModel with = QuantizedModel.load(q4j.toFile());
        QuantizedModel plain = QuantizedModel.load(without.toFile());
        assertNotNull(with.options().inputNormalization());
        assertNull(plain.options().inputNormalization());
        TensorQuantization a = firstActivation(with);
        TensorQuantization b = firstActivation(plain);
        assertEquals("input:normalized", a.tensor());
        assertEquals("input", b.tensor());
        assertFalse(Arrays.equals(a.scales(), b.scales()), "the input's scales: " + Arrays.toString(a.scales())
                + " with the normalizer, " + Arrays.toString(b.scales()) + " without");
    }

    /** The dB of eval's "output SQNR vs fp32" line. */
    private static double outputSqnr(String evalOut) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("output SQNR vs fp32\\s+(-?[0-9.]+) dB")
                .matcher(evalOut);
        assertTrue(m.find(), evalOut);
        return Double.parseDouble(m.group(1));
    }

    private static TensorQuantization firstActivation(QuantizedModel q) {
        return q.quantizations().stream().filter(t -> t.kind() == TensorQuantization.Kind.ACTIVATION).findFirst()
                .orElseThrow();
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static DataSet normalized(DataNormalization normalizer, DataSet raw) {
        INDArray x = raw.getFeatures().dup();
        normalizer.transform(x);
        return new DataSet(x, raw.getLabels());
    }

    private static String accuracyLine(int examples, double fp32, double quantized) {
        return String.format(Locale.ROOT, "%-36s %11.2f%% %11.2f%%",
                String.format(Locale.ROOT, "top-1 accuracy, %,d test images", examples), 100 * fp32, 100 * quantized);
    }

    /**
     * Gray PNGs of horizontal (class 0) and vertical (class 1) stripes with noise, in subfolders "horizontal" and
     * "vertical"; returns the same examples as pixel values 0..255, as DL4J's image loaders give them.
     */
    private static DataSet writeImages(Path folder) throws IOException {
        Random random = new Random(17);
        String[] classes = {"horizontal", "vertical"};
        INDArray features = Nd4j.zeros(DataType.FLOAT, 2 * PER_CLASS, 1, SIDE, SIDE);
        INDArray labels = Nd4j.zeros(DataType.FLOAT, 2 * PER_CLASS, 2);
        for (int c = 0; c < 2; c++) {
            Files.createDirectories(folder.resolve(classes[c]));
            for (int i = 0; i < PER_CLASS; i++) {
                int example = c * PER_CLASS + i;
                int phase = random.nextInt(2);
                BufferedImage image = new BufferedImage(SIDE, SIDE, BufferedImage.TYPE_BYTE_GRAY);
                for (int yy = 0; yy < SIDE; yy++) {
                    for (int xx = 0; xx < SIDE; xx++) {
                        int stripe = ((c == 0 ? yy : xx) + phase) % 2;
                        int v = 40 + stripe * 150 + random.nextInt(60);
                        image.getRaster().setSample(xx, yy, 0, v);
                        features.putScalar(new long[] {example, 0, yy, xx}, v);
                    }
                }
                labels.putScalar(example, c, 1f);
                ImageIO.write(image, "png", folder.resolve(classes[c]).resolve(String.format("%02d.png", i)).toFile());
            }
        }
        return new DataSet(features, labels);
    }

    /**
     * A header, then ROWS rows of FEATURES wide-ranged values and a label: 1 when the first two columns, each
     * scaled to [0, 1), sum above the last two.
     */
    private static DataSet writeCsv(Path file) throws IOException {
        Random random = new Random(19);
        StringBuilder text = new StringBuilder("f0,f1,f2,f3,label\n");
        INDArray features = Nd4j.zeros(DataType.FLOAT, ROWS, FEATURES);
        INDArray labels = Nd4j.zeros(DataType.FLOAT, ROWS, 2);
        for (int r = 0; r < ROWS; r++) {
            float balance = 0;
            for (int f = 0; f < FEATURES; f++) {
                float u = Math.round(random.nextFloat() * 100) / 100f;
                float v = Float.parseFloat(Float.toString(OFFSET[f] + SPAN[f] * u));
                features.putScalar(r, f, v);
                balance += f < FEATURES / 2 ? u : -u;
                text.append(v).append(',');
            }
            int label = balance > 0 ? 1 : 0;
            labels.putScalar(r, label, 1f);
            text.append(label).append('\n');
        }
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return new DataSet(features, labels);
    }

    private static MultiLayerNetwork imageCnn() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7)
                .weightInit(WeightInit.RELU).dataType(DataType.FLOAT).updater(new Adam(0.02)).list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("conv1").nOut(4)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().name("fc1").nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(SIDE, SIDE, 1)).build());
        net.init();
        return net;
    }

    private static MultiLayerNetwork tableMlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(9)
                .weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT).updater(new Adam(0.05)).list()
                .layer(new DenseLayer.Builder().name("fc1").nOut(8).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(FEATURES)).build());
        net.init();
        return net;
    }

    private static MultiLayerNetwork train(MultiLayerNetwork net, DataSet data) {
        for (int epoch = 0; epoch < 200; epoch++) {
            net.fit(data);
        }
        return net;
    }
}
