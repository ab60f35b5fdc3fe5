package org.quant4j.zoo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The zoo table (docs/ZOO.md): each zoo IT writes its model's row to {@code zoo-tests/target/zoo-table/<NN>-<model>.md},
 * and every write regenerates {@code zoo-tests/target/zoo-table.md} from the rows present, in the zoo's order. Models DL4J itself
 * cannot build write a row saying so.
 */
final class ZooTable {

    /** The zoo's order in the table. */
    static final List<String> ORDER = List.of("LeNet", "SimpleCNN", "AlexNet", "VGG16", "VGG19", "ResNet50",
            "SqueezeNet", "Darknet19", "TinyYOLO", "YOLO2", "UNet", "Xception", "InceptionResNetV1",
            "FaceNetNN4Small2", "NASNet");

    private static final Path DIR = Path.of("target", "zoo-table");

    private ZooTable() {
    }

    static synchronized void write(ZooCheck.Result r) {
        String top1 = Double.isNaN(r.top1Agreement()) ? "n/a (one-channel map)"
                : String.format(Locale.ROOT, "%.1f%%", 100 * r.top1Agreement());
        writeRow(r.model(), String.format(Locale.ROOT,
                "| %s | %s | %,d | yes | %.1e | %.2f dB | %s | %s | %s / %s (%.1fx) | %s |",
                r.model(), r.input(), r.parameters(), r.fp32Error(), r.sqnrDb(), top1,
                r.execution().startsWith("int8") ? speedup(r.timing()) : "- (not int8)",
                size(r.fp32Bytes()),
                size(r.quantizedBytes()), (double) r.fp32Bytes() / r.quantizedBytes(), r.execution()));
    }

    static synchronized void writeUnbuildable(String model, String error) {
        writeRow(model, "| " + model + " | - | - | no: DL4J's own init() fails (" + error.replace('|', '/')
                + ") | - | - | - | - | - | - |");
    }

    private static void writeRow(String model, String row) {
        try {
            Files.createDirectories(DIR);
            int index = ORDER.indexOf(model);
            Files.writeString(DIR.resolve(String.format(Locale.ROOT, "%02d-%s.md", index, model)), row + "\n",
                    StandardCharsets.UTF_8);
            List<Path> rows = new ArrayList<>();
            try (var s = Files.list(DIR)) {
                s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(rows::add);
            }
            StringBuilder table = new StringBuilder();
            table.append("| model | input | parameters | converted | fp32 max rel. error vs DL4J | W8A8 SQNR vs fp32 "
                    + "(logits) | top-1 agreement | int8 speedup over DL4J fp32 (DL4J / int8 time per batch) "
                    + "| model file fp32 / quantized | runs as |\n");
            table.append("|---|---|---:|---|---:|---:|---:|---:|---|---|\n");
            for (Path p : rows) {
                table.append(Files.readString(p, StandardCharsets.UTF_8));
            }
            Files.writeString(Path.of("target", "zoo-table.md"), table.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** E.g. "12.3x (362 / 29.4 ms, batch 1)"; "0.14x (...)" where int8 is slower. */
    private static String speedup(ZooCheck.Timing t) {
        String ratio = String.format(Locale.ROOT, t.speedup() >= 1 ? "%.1fx" : "%.2fx", t.speedup());
        return String.format(Locale.ROOT, "%s (%s / %s ms, batch %d)", ratio, millis(t.dl4jMillis()),
                millis(t.quantizedMillis()), t.batch());
    }

    /** Three significant digits (at least the integer part). */
    private static String millis(double ms) {
        return String.format(Locale.ROOT, ms >= 100 ? "%.0f" : ms >= 10 ? "%.1f" : "%.2f", ms);
    }

    private static String size(long bytes) {
        return bytes >= 10_000_000 ? String.format(Locale.ROOT, "%.1f MB", bytes / 1e6)
                : String.format(Locale.ROOT, "%.1f kB", bytes / 1e3);
    }
}
