package org.quant4j.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code quant4j} command. Exit codes: 0 done; 1 the work failed (a missing or unreadable file, unknown data,
 * a model that does not convert, a result that is not a number: one line says why, {@code --verbose} adds the
 * stack trace); 2 bad usage (an unknown option, a value outside its {@link OptionBounds bounds}, a quantized model
 * of another network ({@link ModelMatch}): one line says which, {@code --help} says more).
 */
@Command(name = "quant4j", mixinStandardHelpOptions = true, version = "quant4j 0.1.0",
        description = "Post-training quantization of Deeplearning4j networks.",
        subcommands = {QuantizeCommand.class, ExportCommand.class, EvalCommand.class, BenchCommand.class,
                ReportCommand.class, DemoCommand.class, TrainCommand.class, AccuracyCommand.class, RangesCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /** Exit code: done. */
    public static final int OK = 0;
    /** Exit code: the work failed. */
    public static final int FAILED = 1;
    /** Exit code: bad usage. */
    public static final int USAGE = 2;

    @Option(names = "--verbose", description = "Print stack traces of errors, and the libraries' INFO logging.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    final PrintStream out;
    final Progress progress;

    private Main(PrintStream out, Progress progress) {
        this.out = out;
        this.progress = progress;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line on standard output and error; returns the exit code. */
    public static int run(String... args) {
        return run(System.out, System.err, Progress.onStandardError(), args);
    }

    /** Runs the command line, writing results to {@code out}, errors and progress lines to {@code err}. */
    public static int run(PrintStream out, PrintStream err, String... args) {
        return run(out, err, new Progress(err, false), args);
    }

    private static int run(PrintStream out, PrintStream err, Progress progress, String... args) {
        QuietLogging.configure(java.util.Arrays.asList(args).contains("--verbose"));
        Main main = new Main(out, progress);
        CommandLine cli = new CommandLine(main);
        cli.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cli.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean badData = e instanceof org.quant4j.cli.data.BadDataException;
            if (main.verbose) {
                e.printStackTrace(cmd.getErr());
            } else {
                cmd.getErr().println(cmd.getCommandName().equals("quant4j") ? "quant4j: " + oneLine(e)
                        : "quant4j " + cmd.getCommandName() + ": " + oneLine(e));
            }
            cmd.getErr().flush();
            return badData ? USAGE : FAILED;
        });
        cli.setParameterExceptionHandler((e, args2) -> {
            CommandLine cmd = e.getCommandLine();
            String name = cmd.getCommandSpec().qualifiedName();
            cmd.getErr().println(name + ": " + e.getMessage() + " (see " + name + " --help)");
            cmd.getErr().flush();
            return USAGE;
        });
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** The first line of an error's message, or its type when it has none; "(--verbose for more)" if cut. */
    static String oneLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName() + (e.getCause() != null ? ": " + oneLine(e.getCause()) : "");
        }
        if (e instanceof java.nio.file.NoSuchFileException n && n.getReason() == null) {
            message = n.getFile() + ": no such file";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline).strip() + " (--verbose for more)";
    }

    @Override
    public void run() {
        new CommandLine(this).usage(out);
    }
}
