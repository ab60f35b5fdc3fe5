package org.quant4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.quant4j.QuantizedModel;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.quant4j.cli.data.LabeledData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code quant4j report Q4J -o DIR}: the report of a quantized model as JSON and HTML. */
@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write the report of a quantized model into a directory: report.json and index.html (charts: "
                + "per-layer SQNR, clip ranges per channel, channel histograms with the fitted PDF, PDF families).",
                "Observed ranges, histograms and PDF families need the calibration statistics: give --model (the fp32 "
                        + "network) and the same calibration options as quantize; without them the report has the "
                        + "SQNR and the clip ranges only."})
final class ReportCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "Q4J", description = "The quantized model (.q4j).")
    Path quantized;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Directory to write into.")
    Path output;

    @Option(names = "--model", paramLabel = "MODEL", description = "The fp32 DL4J model file (or zoo model name).")
    String model;

    @Mixin
    NormalizerOption normalizerOption;

    @Option(names = "--calibration", defaultValue = "mnist", paramLabel = "DATA",
            description = "Calibration data, as given to quantize (default: ${DEFAULT-VALUE}).")
    String calibration;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--calibration-images", defaultValue = "512", paramLabel = "N",
            description = "Calibration images, as given to quantize, 1.." + OptionBounds.TRAINING_IMAGES
                    + " (default: ${DEFAULT-VALUE}).")
    int calibrationImages;

    @Option(names = "--calibration-seed", defaultValue = "7", hidden = true, description = "As given to quantize.")
    long calibrationSeed;

    @Option(names = "--batch-size", defaultValue = "64", paramLabel = "N",
            description = "As given to quantize, 1.." + OptionBounds.TRAINING_IMAGES + " (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--layer", paramLabel = "LAYER",
            description = "The layer whose ranges and channels are drawn (default: the worst quantized one).")
    String layer;

    @Override
    public Integer call() throws Exception {
        requireInRange("--calibration-images", calibrationImages, 1, OptionBounds.TRAINING_IMAGES);
        requireInRange("--batch-size", batchSize, 1, OptionBounds.TRAINING_IMAGES);
        dataOptions.validate(this);
        requireDirectoryOrAbsent("--output", output);
        CalibrationSource source = calibrationSource(calibration);
        QuantizedModel q = QuantizedModel.load(EvalCommand.existing(quantized).toFile());
        Fp32Model fp32 = null;
        LabeledData images = null;
        if (model != null) {
            fp32 = normalizerOption.resolve(this, model, dataOptions.zooInput(this), dataOptions);
            images = calibrationData(source, q.inputs().get(0), dataOptions, calibrationImages, calibrationSeed);
            ModelMatch.require(this, fp32, q, quantized,
                    images.features().get(NDArrayIndex.interval(0, Math.min(2, images.size()))));
        }
        Path html = Reports.write(output, fp32 != null ? fp32.name() : quantized.getFileName().toString(), fp32, q,
                images == null ? null : images.iterator(batchSize, images.labelClasses()), layer, main.progress,
                QuantizeCommand.batches(images == null ? calibrationImages : images.size(), batchSize), null);
        main.out.println("report: " + html);
        return Main.OK;
    }
}
