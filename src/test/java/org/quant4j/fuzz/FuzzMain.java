package org.quant4j.fuzz;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.junit.platform.launcher.Launcher;
import org.quant4j.memory.ProcessMemory;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs the fuzz properties (tag {@code fuzz}, package {@code org.quant4j.fuzz}) in this JVM, the one
 * {@link FuzzSuiteTest} starts for them, and writes a summary: properties run and failed, cases tried per property,
 * seconds, peak resident set. Exit status 0 when every property passed, 1 when one failed; a native crash ends the JVM
 * with another status, and the case it was trying is in the {@link CaseLog} file.
 *
 * <p>Arguments: the tries per property (jqwik's {@code jqwik.tries.default}), the summary file, the case log file,
 * the folder for jqwik's database of failed cases.
 */
public final class FuzzMain {

    private FuzzMain() {
    }

    public static void main(String[] args) throws IOException {
        int tries = Integer.parseInt(args[0]);
        Path summaryFile = Path.of(args[1]);
        System.setProperty(CaseLog.FILE_PROPERTY, args[2]);
        long start = System.nanoTime();
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(FuzzMain.class.getPackageName()))
                .filters(TagFilter.includeTags("fuzz"))
                .configurationParameter("jqwik.tries.default", String.valueOf(tries))
                .configurationParameter("jqwik.database", Path.of(args[3], "jqwik-database").toString())
                .configurationParameter("jqwik.reporting.onlyfailures", "true")
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary summary = listener.getSummary();
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "properties: %d run, %d failed; %.0f s; peak resident set %s%n",
                summary.getTestsStartedCount(), summary.getTotalFailureCount(), (System.nanoTime() - start) / 1e9,
                ProcessMemory.peakResident()));
        for (Map.Entry<String, Long> e : CaseLog.tried().entrySet()) {
            text.append(String.format(Locale.ROOT, "  %s: %d cases%n", e.getKey(), e.getValue()));
        }
        for (TestExecutionSummary.Failure f : summary.getFailures()) {
            StringWriter trace = new StringWriter();
            f.getException().printStackTrace(new PrintWriter(trace));
            text.append("FAILED ").append(f.getTestIdentifier().getDisplayName()).append(": ").append(trace)
                    .append('\n');
        }
        Files.writeString(summaryFile, text);
        System.out.print(text);
        System.out.flush();
        boolean passed = summary.getTotalFailureCount() == 0 && summary.getTestsStartedCount() > 0;
        System.exit(passed ? 0 : 1);
    }
}
