package org.quant4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.quant4j.runtime.Dnnl;

/** What a benchmark ran on: the CPU model (from /proc/cpuinfo where there is one), its cores, oneDNN's ISA. */
record MachineInfo(String cpu, int cores, String onednnIsa) {

    static MachineInfo current() {
        return new MachineInfo(cpuModel(Path.of("/proc/cpuinfo")), Runtime.getRuntime().availableProcessors(),
                dnnlIsa());
    }

    /** The first "model name" of a cpuinfo file, or the JVM's os.arch when there is none. */
    static String cpuModel(Path cpuinfo) {
        try {
            if (Files.isReadable(cpuinfo)) {
                for (String line : Files.readAllLines(cpuinfo)) {
                    if (line.startsWith("model name") && line.indexOf(':') > 0) {
                        return line.substring(line.indexOf(':') + 1).strip();
                    }
                }
            }
        } catch (IOException e) {
            // the architecture below
        }
        return "unknown CPU (" + System.getProperty("os.arch") + ")";
    }

    /** The instruction set oneDNN's kernels use here, or "oneDNN not available". */
    static String dnnlIsa() {
        try {
            return Dnnl.available() ? String.valueOf(Dnnl.isa()) : "oneDNN not available";
        } catch (RuntimeException | LinkageError e) {
            return "oneDNN not available";
        }
    }
}
