package org.quant4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.QuantizedModel;
import org.quant4j.data.Dataset;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.cli.data.DataSources;
import org.quant4j.cli.data.LabeledData;
import org.quant4j.data.Split;
import org.quant4j.data.Subset;
import org.quant4j.report.html.ReportBuilder;
import org.quant4j.report.html.ReportData;
import org.quant4j.report.html.ReportFiles;
import org.quant4j.report.SqnrMeter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code quant4j eval MODEL Q4J}: top-1 accuracy of fp32 and quantized on a data set's test split. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Accuracy of the fp32 network and of its quantized model on the test split of a data set (or "
                + "on your own labelled data: a folder of images, a CSV, .npy or .npz file), their top-1 agreement "
                + "and the output SQNR.")
final class EvalCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "The fp32 DL4J model file (or zoo model name).")
    String model;

    @Mixin
    NormalizerOption normalizerOption;

    @Parameters(index = "1", paramLabel = "Q4J", description = "A quantized model (.q4j) of MODEL.")
    Path quantized;

    @Option(names = "--data", defaultValue = "mnist", paramLabel = "DATA",
            description = "Test data: mnist | fashion-mnist (the test split) | a folder of images (class subfolders) | "
                    + "a .csv, .npy or .npz file with labels (default: ${DEFAULT-VALUE}).")
    String data;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--images", defaultValue = "10000", paramLabel = "N",
            description = "The first N test images, 1.." + OptionBounds.TEST_IMAGES + " (default: ${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--batch-size", defaultValue = "250", paramLabel = "N",
            description = "Batch size, 1.." + OptionBounds.TEST_IMAGES + " (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--report", paramLabel = "DIR",
            description = "Add the accuracy to the report in DIR (written anew from Q4J when DIR has none).")
    Path report;

    @Override
    public Integer call() throws Exception {
        requireInRange("--images", images, 1, OptionBounds.TEST_IMAGES);
        requireInRange("--batch-size", batchSize, 1, OptionBounds.TEST_IMAGES);
        dataOptions.validate(this);
        if (report != null) {
            requireDirectoryOrAbsent("--report", report);
        }
        boolean fileData = DataSources.isFileSource(data);
        Dataset dataset = fileData ? null : dataset("--data", data);
        Fp32Model fp32 = normalizerOption.resolve(this, model, dataOptions.zooInput(this), dataOptions);
        QuantizedModel q = QuantizedModel.load(existing(quantized).toFile());
        LabeledData test = fileData ? fileData(data, q.inputs().get(0), dataOptions, images)
                : LabeledDataOf.images(datasets().load(dataset, Split.TEST, Subset.first(images)));
        check(test.hasLabels(), this, "--data " + data + " has no labels (CSV: --label-column; .npy: --labels; "
                + "images: class subfolders): no accuracy to measure");
        INDArray probe = test.features().get(NDArrayIndex.interval(0, Math.min(2, test.size())));
        ModelMatch.require(this, fp32, q, quantized, probe);
        String mismatch = NormalizerOption.mismatch(fp32, q, quantized.toString());
        if (mismatch != null) {
            main.out.println(mismatch);
        }
        int classes = (int) fp32.output(probe).size(1);
        ReportData.Accuracy a = measure(fp32, q, test, classes, batchSize, main.progress);
        main.out.printf(Locale.ROOT, "%-36s %12s %12s%n", "", "fp32 (DL4J)", "quantized");
        main.out.printf(Locale.ROOT, "%-36s %11.2f%% %11.2f%%%n",
                String.format(Locale.ROOT, "top-1 accuracy, %,d test images", a.images()), 100 * a.fp32(),
                100 * a.quantized());
        main.out.printf(Locale.ROOT, "%-36s %12s %11.2f%%%n", "top-1 agreement with fp32", "", 100 * a.agreement());
        main.out.printf(Locale.ROOT, "%-36s %12s %12s%n", "output SQNR vs fp32", "",
                ResultChecks.sqnrText(a.outputSqnrDb()));
        if (report != null) {
            ReportData r = Files.isRegularFile(report.resolve(ReportFiles.JSON)) ? ReportFiles.read(report)
                    : ReportBuilder.build(quantized.getFileName().toString(), q, null, null);
            main.out.println("report: " + ReportFiles.write(report, r.withAccuracy(a)));
        }
        return Main.OK;
    }

    static Path existing(Path file) throws java.nio.file.NoSuchFileException {
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString(), null, "no such quantized model file");
        }
        return file;
    }

    /**
     * Both models over the test images, one progress step per batch; an error (exit code 1) when a model gives a NaN
     * or infinite output, or a result is not a number, so that no meaningless accuracy is printed.
     */
    static ReportData.Accuracy measure(Fp32Model fp32, QuantizedModel q, LabeledData test, int classes,
            int batchSize, Progress progress) {
        Evaluation e32 = new Evaluation();
        Evaluation eq = new Evaluation();
        SqnrMeter sqnr = new SqnrMeter();
        long agree = 0;
        long first = 0;
        DataSetIterator it = test.iterator(batchSize, classes);
        try (ProgressBar bar = progress.start("evaluation", QuantizeCommand.batches(test.size(), batchSize),
                "batches")) {
            while (it.hasNext()) {
                var batch = it.next();
                INDArray reference = fp32.output(batch.getFeatures());
                INDArray actual = q.output(batch.getFeatures());
                requireFinite(reference, "the fp32 network " + fp32.name(), first, batch.numExamples());
                requireFinite(actual, "the quantized model", first, batch.numExamples());
                first += batch.numExamples();
                e32.eval(batch.getLabels(), reference);
                eq.eval(batch.getLabels(), actual);
                sqnr.add(reference, actual);
                agree += reference.argMax(1).eq(actual.argMax(1)).castTo(DataType.INT32).sumNumber().longValue();
                bar.step();
            }
        }
        return new ReportData.Accuracy(test.source(), test.size(),
                ResultChecks.finite("the fp32 network's accuracy", e32.accuracy()),
                ResultChecks.finite("the quantized model's accuracy", eq.accuracy()),
                ResultChecks.finite("the top-1 agreement", agree / (double) test.size()),
                ResultChecks.sqnr("the output SQNR", sqnr.sqnrDb()));
    }

    private static void requireFinite(INDArray output, String model, long firstImage, int images) {
        if (output.isNaN().any() || output.isInfinite().any()) {
            throw new IllegalStateException(model + " gives NaN or infinite outputs on test images " + firstImage
                    + ".." + (firstImage + images - 1) + ": no accuracy to report");
        }
    }
}
