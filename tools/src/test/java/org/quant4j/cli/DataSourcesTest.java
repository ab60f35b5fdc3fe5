package org.quant4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.ViewIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;

/**
 * The user's own data through the command line: networks trained here on an image folder and on a CSV table (both
 * written by the test), quantized and evaluated by {@code quant4j} on that data, give the accuracy the Java API gives
 * on the same examples (built here from the values written, not read back by the CLI's readers); and bad files
 * give exit code 2 with a message naming the file and the row or entry.
 */
class DataSourcesTest {

    private static final int SIDE = 8;
    private static final int PER_CLASS = 12;
    private static final int FEATURES = 6;
    private static final int ROWS = 40;

    @TempDir
    static Path dir;
    static Path images;
    static DataSet imageData;
    static MultiLayerNetwork imageNet;
    static Path imageModel;
    static Path csv;
    static DataSet tableData;
    static MultiLayerNetwork tableNet;
    static Path tableModel;

    @BeforeAll
    static void writeDataAndTrain() throws IOException {
        images = dir.resolve("images");
        imageData = writeImages(images);
        imageNet = train(imageCnn(), imageData);
        imageModel = TinyNetworks.save(imageNet, dir.resolve("image-net.zip"));
        csv = dir.resolve("table.csv");
        tableData = writeCsv(csv);
        tableNet = train(tableMlp(), tableData);
        tableModel = TinyNetworks.save(tableNet, dir.resolve("table-net.zip"));
    }

    @Test
    void anImageFolderCalibratesAndEvaluatesAsTheJavaApiDoes() {
        Path q4j = dir.resolve("image-net.q4j");
        MainTest.Run quantized = MainTest.run("quantize", imageModel.toString(), "--calibration", images.toString(),
                "-o", q4j.toString());
        assertEquals(0, quantized.code(), quantized.err());
        MainTest.Run eval = MainTest.run("eval", imageModel.toString(), q4j.toString(), "--data", images.toString());
        assertEquals(0, eval.code(), eval.err());

        QuantizedModel api = Quantizer.quantize(imageNet, new ViewIterator(imageData, 64));
        double apiAccuracy = api.evaluate(new ViewIterator(imageData, 250)).accuracy();
        double fp32Accuracy = imageNet.evaluate(new ViewIterator(imageData, 250)).accuracy();
        assertTrue(apiAccuracy >= 0.9, "the network learned the two classes: " + apiAccuracy);
        assertTrue(eval.out().contains(accuracyLine(2 * PER_CLASS, fp32Accuracy, apiAccuracy)), eval.out());
    }

    @Test
    void aCsvTableWithHeaderAndLabelColumnCalibratesAndEvaluatesAsTheJavaApiDoes() {
        Path q4j = dir.resolve("table-net.q4j");
        MainTest.Run quantized = MainTest.run("quantize", tableModel.toString(), "--calibration", csv.toString(),
                "--label-column", String.valueOf(FEATURES), "--skip-lines", "1", "-o", q4j.toString());
        assertEquals(0, quantized.code(), quantized.err());
        MainTest.Run eval = MainTest.run("eval", tableModel.toString(), q4j.toString(), "--data", csv.toString(),
                "--label-column", String.valueOf(FEATURES), "--skip-lines", "1");
        assertEquals(0, eval.code(), eval.err());

        QuantizedModel api = Quantizer.quantize(tableNet, new ViewIterator(tableData, 64));
        double apiAccuracy = api.evaluate(new ViewIterator(tableData, 250)).accuracy();
        double fp32Accuracy = tableNet.evaluate(new ViewIterator(tableData, 250)).accuracy();
        assertTrue(apiAccuracy >= 0.9, "the network learned the table: " + apiAccuracy);
        assertTrue(eval.out().contains(accuracyLine(ROWS, fp32Accuracy, apiAccuracy)), eval.out());
    }

    @Test
    void npyFeaturesAndLabelsEvaluateAsTheSameCsvRows() throws IOException {
        Path q4j = dir.resolve("table-npy.q4j");
        Path x = dir.resolve("x.npy");
        Path y = dir.resolve("y.npy");
        Nd4j.writeAsNumpy(tableData.getFeatures(), x.toFile());
        Nd4j.writeAsNumpy(tableData.getLabels().argMax(1).castTo(DataType.INT64), y.toFile());
        MainTest.Run quantized = MainTest.run("quantize", tableModel.toString(), "--calibration", x.toString(),
                "-o", q4j.toString());
        assertEquals(0, quantized.code(), quantized.err());
        MainTest.Run eval = MainTest.run("eval", tableModel.toString(), q4j.toString(), "--data", x.toString(),
                "--labels", y.toString());
        assertEquals(0, eval.code(), eval.err());

        QuantizedModel api = Quantizer.quantize(tableNet, new ViewIterator(tableData, 64));
        double apiAccuracy = api.evaluate(new ViewIterator(tableData, 250)).accuracy();
        double fp32Accuracy = tableNet.evaluate(new ViewIterator(tableData, 250)).accuracy();
        assertTrue(eval.out().contains(accuracyLine(ROWS, fp32Accuracy, apiAccuracy)), eval.out());
    }

    /** LeNet's dense layer takes a fixed size: built for 1x28x28 it could not run the 16x16 images. */
    @Test
    void aZooModelIsBuiltForTheInputShapeGiven() {
        Path q4j = dir.resolve("lenet16.q4j");
        MainTest.Run quantized = MainTest.run("quantize", "LeNet", "--calibration", images.toString(),
                "--input-shape", "1,16,16", "-o", q4j.toString());
        assertEquals(0, quantized.code(), quantized.err());
        MainTest.Run eval = MainTest.run("eval", "LeNet", q4j.toString(), "--data", images.toString(),
                "--input-shape", "1,16,16");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("top-1 accuracy, " + 2 * PER_CLASS + " test images"), eval.out());
        MainTest.Run bench = MainTest.run("bench", "LeNet", q4j.toString(), "--input-shape", "1,16,16",
                "--batches", "1", "--warmup", "0", "--batch-size", "2");
        assertEquals(0, bench.code(), bench.err());
    }

    @Test
    void rangesAndReportTakeTheSameCsvTable() {
        String[] csvOptions = {"--calibration", csv.toString(), "--label-column", String.valueOf(FEATURES),
                "--skip-lines", "1"};
        MainTest.Run ranges = MainTest.run(concat(new String[] {"ranges", tableModel.toString(), "--methods",
                "mse,minmax"}, csvOptions));
        assertEquals(0, ranges.code(), ranges.err());
        assertTrue(ranges.out().contains(ROWS + " " + csv + " images"), ranges.out());

        Path q4j = dir.resolve("table-report.q4j");
        assertEquals(0, MainTest.run(concat(new String[] {"quantize", tableModel.toString(), "-o", q4j.toString()},
                csvOptions)).code());
        Path report = dir.resolve("table-report");
        MainTest.Run written = MainTest.run(concat(new String[] {"report", q4j.toString(), "-o", report.toString(),
                "--model", tableModel.toString()}, csvOptions));
        assertEquals(0, written.code(), written.err());
        assertTrue(Files.isRegularFile(report.resolve("index.html")));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void aCorruptImageIsAUsageErrorNamingTheFile() throws IOException {
        Path folder = dir.resolve("corrupt");
        writeImages(folder);
        Path bad = folder.resolve("vertical/zz-broken.png");
        Files.write(bad, new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2, 3});
        MainTest.Run run = MainTest.run("quantize", imageModel.toString(), "--calibration", folder.toString(),
                "-o", dir.resolve("never.q4j").toString());
        assertEquals(Main.USAGE, run.code(), run.err());
        assertTrue(run.err().contains(bad.toString()) && run.err().contains("not a readable image"), run.err());
        assertTrue(Files.notExists(dir.resolve("never.q4j")));
    }

    @Test
    void aRaggedCsvRowIsAUsageErrorNamingTheFileAndLine() throws IOException {
        Path ragged = dir.resolve("ragged.csv");
        Files.writeString(ragged, "a,b,c,d,e,f,label\n1,2,3,4,5,6,0\n1,2,3,4,5,6,1\n1,2,3,4,5,1\n",
                StandardCharsets.UTF_8);
        MainTest.Run run = MainTest.run("quantize", tableModel.toString(), "--calibration", ragged.toString(),
                "--label-column", "6", "--skip-lines", "1", "-o", dir.resolve("never.q4j").toString());
        assertEquals(Main.USAGE, run.code(), run.err());
        assertTrue(run.err().contains(ragged + ", line 4: 6 columns, expected 7"), run.err());
    }

    @Test
    void anNpyOfTheWrongShapeIsAUsageErrorNamingTheFileAndBothShapes() throws IOException {
        Path wrong = dir.resolve("wrong.npy");
        Nd4j.writeAsNumpy(Nd4j.rand(DataType.FLOAT, 3, FEATURES - 1), wrong.toFile());
        MainTest.Run run = MainTest.run("quantize", tableModel.toString(), "--calibration", wrong.toString(),
                "-o", dir.resolve("never.q4j").toString());
        assertEquals(Main.USAGE, run.code(), run.err());
        assertTrue(run.err().contains(wrong + ": shape [3, 5] does not fit the model's input shape [3, 6]"),
                run.err());
    }

    @Test
    void evaluationDataWithoutLabelsIsAUsageError() throws IOException {
        Path x = dir.resolve("unlabelled.npy");
        Nd4j.writeAsNumpy(tableData.getFeatures(), x.toFile());
        Path q4j = dir.resolve("unlabelled.q4j");
        assertEquals(0, MainTest.run("quantize", tableModel.toString(), "--calibration", x.toString(), "-o",
                q4j.toString()).code());
        MainTest.Run run = MainTest.run("eval", tableModel.toString(), q4j.toString(), "--data", x.toString());
        assertEquals(Main.USAGE, run.code(), run.err());
        assertTrue(run.err().contains("has no labels"), run.err());
    }

    @Test
    void aMissingDataFileFailsNamingItAndAnUnknownNameListsTheKinds() {
        Path missing = dir.resolve("missing.csv");
        MainTest.Run run = MainTest.run("quantize", tableModel.toString(), "--calibration", missing.toString(),
                "-o", dir.resolve("never.q4j").toString());
        assertEquals(Main.FAILED, run.code(), run.err());
        assertTrue(run.err().contains(missing + ": no such data file or folder"), run.err());
        MainTest.Run unknown = MainTest.run("quantize", tableModel.toString(), "--calibration", "cifar10");
        assertEquals(Main.USAGE, unknown.code(), unknown.err());
        assertTrue(unknown.err().contains("or your own data: an existing folder of images, or a .csv, .npy or .npz file"),
                unknown.err());
    }

    /** eval's accuracy line, formatted as eval prints it. */
    private static String accuracyLine(int examples, double fp32, double quantized) {
        return String.format(Locale.ROOT, "%-36s %11.2f%% %11.2f%%",
                String.format(Locale.ROOT, "top-1 accuracy, %,d test images", examples), 100 * fp32, 100 * quantized);
    }

    /**
     * Gray PNGs of horizontal (class 0) and vertical (class 1) stripes with noise, in subfolders "horizontal" and
     * "vertical"; returns the same examples as pixel / 255.
     */
    private static DataSet writeImages(Path folder) throws IOException {
        Random random = new Random(11);
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
                        int v = stripe * 180 + random.nextInt(60);
                        image.getRaster().setSample(xx, yy, 0, v);
                        features.putScalar(new long[] {example, 0, yy, xx}, v / 255f);
                    }
                }
                labels.putScalar(example, c, 1f);
                ImageIO.write(image, "png", folder.resolve(classes[c]).resolve(String.format("%02d.png", i)).toFile());
            }
        }
        return new DataSet(features, labels);
    }

    /** A header, then ROWS rows of FEATURES values and a label: 1 when the first half sums above the second. */
    private static DataSet writeCsv(Path file) throws IOException {
        Random random = new Random(13);
        StringBuilder text = new StringBuilder("f0,f1,f2,f3,f4,f5,label\n");
        INDArray features = Nd4j.zeros(DataType.FLOAT, ROWS, FEATURES);
        INDArray labels = Nd4j.zeros(DataType.FLOAT, ROWS, 2);
        for (int r = 0; r < ROWS; r++) {
            float balance = 0;
            for (int f = 0; f < FEATURES; f++) {
                float v = Math.round(random.nextFloat() * 100) / 100f;
                features.putScalar(r, f, v);
                balance += f < FEATURES / 2 ? v : -v;
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
        for (int epoch = 0; epoch < 150; epoch++) {
            net.fit(data);
        }
        return net;
    }

}
