package org.quant4j.cli;

import java.nio.file.Path;
import org.quant4j.data.Dataset;
import org.quant4j.data.Datasets;
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

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Data set cache (default: $QUANT4J_DATA, -Dquant4j.data.dir, or ~/.quant4j/datasets).")
    Path dataDir;

    @Option(names = "--seed", defaultValue = "42",
            description = "Seed of the random weights of a zoo model (default: ${DEFAULT-VALUE}).")
    long seed;

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
            throw usage(option + ": " + e.getMessage());
        }
    }

    static void check(boolean ok, CommonOptions c, String message) {
        if (!ok) {
            throw c.usage(message);
        }
    }
}
