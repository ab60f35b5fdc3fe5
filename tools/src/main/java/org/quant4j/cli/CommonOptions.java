package org.quant4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.quant4j.cli.data.DataSources;
import org.quant4j.cli.data.LabeledData;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
import org.quant4j.graph.TensorSpec;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** What every subcommand has: its parent (output, progress), its spec (usage errors), the data set cache. */
abstract class CommonOptions {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    Path dataDir;

    @Option(names = "--seed", defaultValue = "42",
            description = "Seed of the random weights of a zoo model (default: ${DEFAULT-VALUE}).")
    long seed;

    /** Checked when parsed, so a file given as the cache is a usage error before any work. */
    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Data set cache (default: $QUANT4J_DATA, -Dquant4j.data.dir, or ~/.quant4j/datasets).")
    void dataDir(Path dir) {
        requireDirectoryOrAbsent("--data-dir", dir);
        dataDir = dir;
    }

    /**
     * The first {@code n} examples of the user's own data {@code source} (an image folder, .csv, .npy or .npz) for a
     * model whose input is {@code input} (null when unknown: then {@code --input-shape} tells).
     */
    LabeledData fileData(String source, TensorSpec input, DataOptions options, int n) throws IOException {
        DataSources.Options reading = options.options(this);
        long[] readShape = options.readShape(this, input);
        return DataSources.open(source, readShape, DataOptions.fixedExampleShape(input), reading).first(n);
    }

    /** A calibration source: the user's own data (a path) or a named data set, checked before any work. */
    record CalibrationSource(String source, Dataset named) {
    }

    /** {@code --calibration}'s value, checked: a file source, or a data set name that exists. */
    CalibrationSource calibrationSource(String source) {
        return new CalibrationSource(source, DataSources.isFileSource(source) ? null : dataset("--calibration", source));
    }

    /**
     * {@code n} calibration examples: the first of the user's own data (for a model whose input is {@code input}), or
     * a draw seeded by {@code seed} from a named data set's training split.
     */
    LabeledData calibrationData(CalibrationSource source, TensorSpec input, DataOptions options, int n, long seed)
            throws IOException {
        return source.named() == null ? fileData(source.source(), input, options, n)
                : LabeledDataOf.images(datasets().calibrationSet(source.named(), n, seed));
    }

    Datasets datasets() {
        return dataDir == null ? Datasets.fromEnvironment() : Datasets.at(dataDir);
    }

    /** A usage error (exit code 2) naming the option. */
    CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    Dataset dataset(String option, String name) {
        try {
            return Dataset.fromName(name);
        } catch (IllegalArgumentException e) {
            throw usage(option + ": " + e.getMessage() + ", or your own data: an existing folder of images, or a "
                    + ".csv, .npy or .npz file");
        }
    }

    static void check(boolean ok, CommonOptions c, String message) {
        if (!ok) {
            throw c.usage(message);
        }
    }

    /** A usage error "OPTION must be in MIN..MAX, got VALUE" unless {@code min <= value <= max}. */
    void requireInRange(String option, long value, long min, long max) {
        check(value >= min && value <= max, this, option + " must be in " + min + ".." + max + ", got " + value);
    }

    /** A usage error unless {@code dir} is a directory or does not exist yet (it is then created). */
    void requireDirectoryOrAbsent(String option, Path dir) {
        check(!Files.exists(dir) || Files.isDirectory(dir), this,
                option + " must be a directory, got " + dir + ", which is a file");
    }

    /** A usage error when {@code file} is an existing directory. */
    void requireFileOrAbsent(String option, Path file) {
        check(!Files.isDirectory(file), this, option + " must be a file, got " + file + ", which is a directory");
    }
}
