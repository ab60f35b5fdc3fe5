package org.quant4j.cli.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A CSV file as DL4J's {@code CSVRecordReader} reads it: comma-separated numbers, one example a line, the first
 * {@code skipLines} lines skipped (a header), blank lines ignored; an optional label column (0-based) holds each
 * example's class index, the other columns are its features, reshaped to the model's input shape.
 */
public final class CsvTable {

    private CsvTable() {
    }

    /**
     * @param exampleShape the model's input shape without the batch dimension
     * @param labelColumn  0-based label column, or -1 for none
     */
    public static LabeledData read(Path file, long[] exampleShape, int labelColumn, int skipLines)
            throws IOException {
        if (Arrays.stream(exampleShape).anyMatch(d -> d < 1)) {
            throw new BadDataException(file + ": the model's input " + Arrays.toString(exampleShape) + " leaves sizes "
                    + "open; give --input-shape to read a CSV row into it");
        }
        long featuresPerExample = Arrays.stream(exampleShape).reduce(1, Math::multiplyExact);
        int columns = -1;
        List<float[]> rows = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNumber = 0;
            while ((line = in.readLine()) != null) {
                lineNumber++;
                if (lineNumber <= skipLines || line.isBlank()) {
                    continue;
                }
                String[] cells = line.split(",", -1);
                String where = file + ", line " + lineNumber;
                if (columns < 0) {
                    columns = cells.length;
                    if (labelColumn >= columns) {
                        throw new BadDataException(where + ": --label-column " + labelColumn + " is not one of its "
                                + columns + " columns (0.." + (columns - 1) + ")");
                    }
                    long features = columns - (labelColumn >= 0 ? 1 : 0);
                    if (features != featuresPerExample) {
                        throw new BadDataException(where + ": " + features + " feature columns, but the model's input "
                                + Arrays.toString(exampleShape) + " takes " + featuresPerExample + " values per example");
                    }
                } else if (cells.length != columns) {
                    throw new BadDataException(where + ": " + cells.length + " columns, expected " + columns
                            + " as in the first row");
                }
                float[] row = new float[(int) featuresPerExample];
                int k = 0;
                for (int c = 0; c < cells.length; c++) {
                    String cell = cells[c].strip();
                    if (c == labelColumn) {
                        labels.add(label(cell, where, c));
                        continue;
                    }
                    try {
                        row[k++] = Float.parseFloat(cell);
                    } catch (NumberFormatException e) {
                        throw new BadDataException(where + ", column " + c + ": '" + cell + "' is not a number");
                    }
                }
                rows.add(row);
            }
        }
        if (rows.isEmpty()) {
            throw new BadDataException(file + ": no rows" + (skipLines > 0 ? " after the " + skipLines
                    + " skipped lines" : ""));
        }
        float[] values = new float[Math.multiplyExact(rows.size(), (int) featuresPerExample)];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, values, i * (int) featuresPerExample, (int) featuresPerExample);
        }
        long[] shape = new long[exampleShape.length + 1];
        shape[0] = rows.size();
        System.arraycopy(exampleShape, 0, shape, 1, exampleShape.length);
        return new LabeledData(file.toString(), Nd4j.create(values, shape, DataType.FLOAT),
                labelColumn < 0 ? null : labels.stream().mapToInt(Integer::intValue).toArray());
    }

    private static int label(String cell, String where, int column) {
        try {
            double v = Double.parseDouble(cell);
            if (v >= 0 && v == Math.rint(v) && v <= Integer.MAX_VALUE) {
                return (int) v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadDataException(where + ", column " + column + " (the label column): '" + cell
                + "' is not a class index (an integer >= 0)");
    }
}
