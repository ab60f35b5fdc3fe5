package org.quant4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import me.tongfei.progressbar.ProgressBar;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.QuantizedModel;
import org.quant4j.calib.FeatureBatches;
import org.quant4j.quantize.CalibrationStatistics;
import org.quant4j.report.html.ReportBuilder;
import org.quant4j.report.html.ReportData;
import org.quant4j.report.html.ReportFiles;

/** Writing a report from the command line. */
final class Reports {

    private Reports() {
    }

    /**
     * Replays the calibration through the fp32 network (when given) for the observed statistics, builds the report
     * and writes it into {@code dir}; returns the HTML file.
     */
    static Path write(Path dir, String name, Fp32Model fp32, QuantizedModel q, DataSetIterator calibration,
            String layer, Progress progress, long batches, ReportData.Accuracy accuracy) throws IOException {
        CalibrationStatistics statistics = null;
        if (fp32 != null && calibration != null) {
            try (ProgressBar bar = progress.start("report statistics", Math.min(batches,
                    q.report().calibrationBatches()), "batches")) {
                statistics = CalibrationStatistics.collect(fp32.graph(), q.quantizations(),
                        FeatureBatches.of(new CountingIterator(calibration, bar)), q.report().calibrationBatches(),
                        q.options().crossLayerEqualization());
            }
        }
        ReportData data = ReportBuilder.build(name, q, statistics, layer);
        if (accuracy != null) {
            data = data.withAccuracy(accuracy);
        }
        return ReportFiles.write(dir, data);
    }
}
