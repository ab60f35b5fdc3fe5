package org.quant4j.report.html;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.quant4j.QuantizationException;
import org.quant4j.io.AtomicFiles;

/** A report directory: {@code report.json} (the data) and {@code index.html} (the page). */
public final class ReportFiles {

    public static final String JSON = "report.json";
    public static final String HTML = "index.html";

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ReportFiles() {
    }

    /**
     * Writes both files into {@code dir} (created when missing), each atomically ({@link AtomicFiles}: a reader sees
     * the old file or the new one, and a failed write leaves the old one); returns the HTML file.
     */
    public static Path write(Path dir, ReportData data) throws IOException {
        byte[] json = MAPPER.writeValueAsBytes(data);
        String page = HtmlReport.render(data);
        AtomicFiles.write(dir.resolve(JSON), json);
        return AtomicFiles.writeString(dir.resolve(HTML), page);
    }

    /** Reads the report in {@code dir}. */
    public static ReportData read(Path dir) throws IOException {
        Path json = dir.resolve(JSON);
        if (!Files.isRegularFile(json)) {
            throw new NoSuchFileException(json.toString(), null,
                    "no report there: write one first with quant4j quantize --report DIR or quant4j report");
        }
        try {
            return MAPPER.readValue(json.toFile(), ReportData.class);
        } catch (IOException e) {
            throw new QuantizationException(json + " is not a quant4j report: " + e.getMessage(), e);
        }
    }
}
