package org.quant4j.demo;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.QuantizationOptions;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.report.SqnrMeter;
import me.tongfei.progressbar.ProgressBar;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.cli.Progress;
import org.quant4j.cli.ResultChecks;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.quantize.CalibrationStatistics;
import org.quant4j.report.html.ReportBuilder;
import org.quant4j.report.html.ReportData;
import org.quant4j.report.html.ReportFiles;

/**
 * The README's main job: a CNN trained on Fashion-MNIST, quantized in one call on a few hundred training images,
 * measured on the 10,000 held-out test images: accuracy fp32 vs quantized, agreement, output SQNR, model sizes,
 * time taken, and the per-layer SQNR table. Every number is measured when it runs.
 *
 * @param calibrationImages training images used for calibration
 * @param options           quantization options
 * @param output            where the quantized model is written
 * @param reportDir         where the report (JSON, HTML) is written; null for none
 */
public record Demo(int calibrationImages, QuantizationOptions options, Path output, Path reportDir) {

    /** What the demo measured. */
    public record Result(double fp32Accuracy, double quantizedAccuracy, double topOneAgreement, double outputSqnrDb,
            long fp32FileBytes, long quantizedFileBytes, QuantizedModel model) {
    }

    public Result run(Datasets data, Path modelFile, PrintStream out, Progress progress) throws IOException {
        long start = System.nanoTime();
        MultiLayerNetwork net = FashionCnnTraining.trainedOrCached(modelFile, data, out, progress);
        LabeledImages calibration = data.calibrationSet(Dataset.FASHION_MNIST, calibrationImages, 7L);
        DataSetIterator test = data.iterator(Dataset.FASHION_MNIST, Split.TEST, 500);

        long t = System.nanoTime();
        QuantizedModel q;
        try (ProgressBar bar = progress.start("calibration", (calibrationImages + 63) / 64, "batches")) {
            q = Quantizer.quantize(net, progress.counting(calibration.iterator(64), bar), options);
        }
        double quantizeSeconds = (System.nanoTime() - t) / 1e9;

        Evaluation fp32 = new Evaluation();
        Evaluation quantized = new Evaluation();
        SqnrMeter sqnr = new SqnrMeter();
        long agree = 0;
        long total = 0;
        double fp32Seconds = 0;
        double quantizedSeconds = 0;
        test.reset();
        ProgressBar bar = progress.start("evaluation", 20, "batches");
        while (test.hasNext()) {
            bar.step();
            var batch = test.next();
            t = System.nanoTime();
            INDArray reference = net.output(batch.getFeatures(), false);
            fp32Seconds += (System.nanoTime() - t) / 1e9;
            t = System.nanoTime();
            INDArray actual = q.output(batch.getFeatures());
            quantizedSeconds += (System.nanoTime() - t) / 1e9;
            fp32.eval(batch.getLabels(), reference);
            quantized.eval(batch.getLabels(), actual);
            sqnr.add(reference, actual);
            INDArray a = reference.argMax(1);
            INDArray b = actual.argMax(1);
            agree += a.eq(b).castTo(org.nd4j.linalg.api.buffer.DataType.INT32).sumNumber().longValue();
            total += a.length();
        }
        bar.close();
        Files.createDirectories(output.toAbsolutePath().getParent());
        q.save(output.toFile());
        long fp32Bytes = FashionCnnTraining.modelFileBytes(net);
        long qBytes = new File(output.toString()).length();

        Result result = new Result(ResultChecks.finite("the fp32 network's accuracy", fp32.accuracy()),
                ResultChecks.finite("the quantized model's accuracy", quantized.accuracy()),
                ResultChecks.finite("the top-1 agreement", agree / (double) total),
                ResultChecks.sqnr("the output SQNR", sqnr.sqnrDb()), fp32Bytes, qBytes, q);
        Path html = null;
        if (reportDir != null) {
            CalibrationStatistics statistics;
            try (ProgressBar b = progress.start("report statistics", (calibrationImages + 63) / 64, "batches")) {
                statistics = CalibrationStatistics.collect(Dl4jConverter.convert(net), q.quantizations(),
                        FeatureBatches.of(progress.counting(calibration.iterator(64), b)), q.report().calibrationBatches());
            }
            ReportData report = ReportBuilder.build("the demo's Fashion-MNIST CNN", q, statistics, null)
                    .withAccuracy(new ReportData.Accuracy(Dataset.FASHION_MNIST.directoryName(), (int) total,
                            result.fp32Accuracy(), result.quantizedAccuracy(), result.topOneAgreement(),
                            result.outputSqnrDb()));
            html = ReportFiles.write(reportDir, report);
        }
        out.println();
        out.println("quant4j demo: a CNN trained on Fashion-MNIST, quantized in one call");
        out.println(q.report());
        String column = q.execution() == QuantizedModel.Execution.INT8 ? "int8" : "fake-quant";
        out.printf(Locale.ROOT, "%-36s %12s %12s%n", "", "fp32 (DL4J)", column);
        out.printf(Locale.ROOT, "%-36s %11.2f%% %11.2f%%%n", "top-1 accuracy, 10,000 test images",
                100 * result.fp32Accuracy(), 100 * result.quantizedAccuracy());
        out.printf(Locale.ROOT, "%-36s %12s %11.2f%%%n", "top-1 agreement with fp32", "", 100 * result.topOneAgreement());
        out.printf(Locale.ROOT, "%-36s %12s %12s%n", "output SQNR vs fp32 (test set)", "",
                ResultChecks.sqnrText(result.outputSqnrDb()));
        out.printf(Locale.ROOT, "%-36s %9.1f kB %9.1f kB%n", "model file", fp32Bytes / 1024.0, qBytes / 1024.0);
        out.printf(Locale.ROOT, "%-36s %10.2f s %10.2f s%n", "inference, 10,000 images (one pass)", fp32Seconds,
                quantizedSeconds);
        out.printf(Locale.ROOT, "%-36s %12s %10.2f s%n", "quantization time (calibrate, solve)", "", quantizeSeconds);
        out.printf(Locale.ROOT, "%-36s %12s %10.2f s%n", "whole demo", "", (System.nanoTime() - start) / 1e9);
        out.println();
        if (q.execution() == QuantizedModel.Execution.INT8) {
            out.println("The quantized model ran in integer arithmetic (oneDNN int8 kernels, W" + q.options().weightBits()
                    + "A" + options.activationBits() + "). Timings are one pass; benchmarks/ measures speed.");
        } else {
            out.println("The quantized model ran as its fake-quant SameDiff graph (simulated int8): "
                    + q.int8Unavailable());
        }
        out.println("Saved to " + output);
        if (html != null) {
            out.println("Report (the worst layers and why, charts): " + html);
        }
        return result;
    }
}
