package org.quant4j.cli.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The readers on small files written here: values, shapes, labels, and the errors that name file and place. */
class DataReadersTest {

    @TempDir
    Path dir;

    private static final DataSources.Options DEFAULTS = new DataSources.Options(-1, 0, null, false, false, false);

    @Test
    void colourImagesAreReadBlueGreenRedOrRedGreenBlueAndResized() throws IOException {
        Path folder = dir.resolve("colours");
        Files.createDirectories(folder.resolve("b-second"));
        Files.createDirectories(folder.resolve("a-first"));
        writeSolid(folder.resolve("a-first/x.png"), 4, 6, 200, 100, 50);
        writeSolid(folder.resolve("b-second/y.jpg"), 2, 2, 0, 0, 0);

        LabeledData bgr = ImageFolder.read(folder, new long[] {3, 3, 3}, false, false, false);
        assertArrayEquals(new long[] {2, 3, 3, 3}, bgr.features().shape());
        assertArrayEquals(new int[] {0, 1}, bgr.classes(), "sorted folder names are the class indices");
        assertEquals(50 / 255f, bgr.features().getFloat(0, 0, 1, 1), 1e-6);
        assertEquals(100 / 255f, bgr.features().getFloat(0, 1, 2, 2), 1e-6);
        assertEquals(200 / 255f, bgr.features().getFloat(0, 2, 0, 0), 1e-6);

        LabeledData rgbRaw = ImageFolder.read(folder, new long[] {3, 3, 3}, true, true, false);
        assertEquals(200f, rgbRaw.features().getFloat(0, 0, 1, 1), 1e-4);
        assertEquals(50f, rgbRaw.features().getFloat(0, 2, 1, 1), 1e-4);

        LabeledData gray = ImageFolder.read(folder, new long[] {1, -1, -1}, true, false, false);
        assertArrayEquals(new long[] {2, 1, 6, 4}, gray.features().shape(), "open sizes: the first image's");
        assertEquals(0.299 * 200 + 0.587 * 100 + 0.114 * 50, gray.features().getFloat(0, 0, 5, 3), 1e-3);
    }

    @Test
    void aCentreCropKeepsTheMiddleOfAWideImage() throws IOException {
        // 8 wide, 2 high: columns 3 and 4 white, the others black; cropped to 2x2 about the centre: columns 3, 4
        BufferedImage image = new BufferedImage(8, 2, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 2; y++) {
            for (int x = 3; x < 5; x++) {
                image.getRaster().setSample(x, y, 0, 255);
            }
        }
        Path folder = dir.resolve("wide");
        Files.createDirectories(folder);
        ImageIO.write(image, "png", folder.resolve("w.png").toFile());
        INDArray cropped = ImageFolder.read(folder, new long[] {1, 2, 2}, true, false, true).features();
        assertEquals(4 * 255f, cropped.sumNumber().floatValue(), 1e-3);
        INDArray stretched = ImageFolder.read(folder, new long[] {1, 2, 2}, true, false, false).features();
        // stretched 8 -> 2 wide, bilinear at pixel centres 1.5 and 5.5: between black columns
        assertEquals(0f, stretched.sumNumber().floatValue(), 1e-3);
    }

    @Test
    void imagesWithoutClassFoldersHaveNoLabels() throws IOException {
        writeSolid(dir.resolve("one.png"), 2, 2, 1, 2, 3);
        assertNull(ImageFolder.read(dir, new long[] {1, 2, 2}, false, false, false).classes());
    }

    @Test
    void aCsvCellThatIsNotANumberNamesLineAndColumn() throws IOException {
        Path csv = dir.resolve("t.csv");
        Files.writeString(csv, "1,2,0\n\n3,n/a,1\n", StandardCharsets.UTF_8);
        BadDataException e = assertThrows(BadDataException.class,
                () -> CsvTable.read(csv, new long[] {2}, 2, 0));
        assertEquals(csv + ", line 3, column 1: 'n/a' is not a number", e.getMessage());
        Files.writeString(csv, "1,2,0\n3,4,-1\n", StandardCharsets.UTF_8);
        BadDataException label = assertThrows(BadDataException.class,
                () -> CsvTable.read(csv, new long[] {2}, 2, 0));
        assertTrue(label.getMessage().startsWith(csv + ", line 2, column 2 (the label column): '-1'"),
                label.getMessage());
    }

    @Test
    void csvRowsAreReshapedToTheModelsInput() throws IOException {
        Path csv = dir.resolve("images.csv");
        Files.writeString(csv, "1,1,0,0,0\n0,0,1,1,1\n", StandardCharsets.UTF_8);
        LabeledData data = DataSources.open(csv.toString(), new long[] {1, 2, 2}, new long[] {1, 2, 2},
                new DataSources.Options(4, 0, null, false, false, false));
        assertArrayEquals(new long[] {2, 1, 2, 2}, data.features().shape());
        assertEquals(1f, data.features().getFloat(1, 0, 1, 1));
        assertArrayEquals(new int[] {0, 1}, data.classes());
    }

    @Test
    void aFileThatIsNotNpyIsRefusedBeforeNd4jParsesIt() throws IOException {
        Path npy = dir.resolve("text.npy");
        Files.writeString(npy, "1,2,3\n", StandardCharsets.UTF_8);
        BadDataException e = assertThrows(BadDataException.class,
                () -> DataSources.open(npy.toString(), new long[] {3}, new long[] {3}, DEFAULTS));
        assertTrue(e.getMessage().startsWith(npy + ": not a NumPy .npy array"), e.getMessage());
    }

    @Test
    void anNpyOfBooleansIsRefusedNamingItsDtype() throws IOException {
        Path npy = dir.resolve("flags.npy");
        Nd4j.writeAsNumpy(Nd4j.create(new boolean[][] {{true, false}, {false, true}}), npy.toFile());
        BadDataException e = assertThrows(BadDataException.class,
                () -> DataSources.open(npy.toString(), new long[] {2}, new long[] {2}, DEFAULTS));
        assertTrue(e.getMessage().startsWith(npy + ": dtype BOOL, shape [2, 2]"), e.getMessage());
    }

    @Test
    void aCompressedNpzIsReadToo() throws IOException {
        Path npz = dir.resolve("compressed.npz");
        try (OutputStream out = Files.newOutputStream(npz); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("features.npy")); // deflated, as numpy.savez_compressed writes
            zip.write(Nd4j.toNpyByteArray(Nd4j.create(new float[] {1, 2, 3, 4}, new long[] {1, 4}, 'c')));
        }
        LabeledData data = DataSources.open(npz.toString(), new long[] {4}, new long[] {4}, DEFAULTS);
        assertArrayEquals(new long[] {1, 4}, data.features().shape());
        assertNull(data.classes());
    }

    @Test
    void anNpzHoldsFeaturesAndLabels() throws IOException {
        INDArray x = Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {3, 2}, 'c');
        INDArray y = Nd4j.create(new long[] {2, 0, 1}, new long[] {3}, DataType.INT64);
        Path npz = dir.resolve("data.npz");
        try (OutputStream out = Files.newOutputStream(npz); ZipOutputStream zip = new ZipOutputStream(out)) {
            stored(zip, "x.npy", Nd4j.toNpyByteArray(x)); // as numpy.savez writes: entries stored, not deflated
            stored(zip, "y.npy", Nd4j.toNpyByteArray(y));
        }
        LabeledData data = DataSources.open(npz.toString(), new long[] {2}, new long[] {2}, DEFAULTS);
        assertEquals(x, data.features());
        assertArrayEquals(new int[] {2, 0, 1}, data.classes());
        assertEquals(1f, data.oneHot(3).getFloat(0, 2));
        BadDataException tooFew = assertThrows(BadDataException.class, () -> data.oneHot(2));
        assertTrue(tooFew.getMessage().contains("example 0 has class 2, but the model has 2 outputs"),
                tooFew.getMessage());
    }

    @Test
    void labelsOfAnotherLengthAreRefusedNamingTheLabelsFile() throws IOException {
        Path x = dir.resolve("x.npy");
        Path y = dir.resolve("y.npy");
        Nd4j.writeAsNumpy(Nd4j.rand(DataType.FLOAT, 4, 3), x.toFile());
        Nd4j.writeAsNumpy(Nd4j.zeros(DataType.FLOAT, 5), y.toFile());
        BadDataException e = assertThrows(BadDataException.class, () -> DataSources.open(x.toString(),
                new long[] {3}, new long[] {3}, new DataSources.Options(-1, 0, y, false, false, false)));
        assertTrue(e.getMessage().startsWith(y + ": labels of shape [5] for 4 examples"), e.getMessage());
    }

    private static void stored(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(bytes.length);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(bytes);
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(bytes);
        zip.closeEntry();
    }

    private static void writeSolid(Path file, int width, int height, int r, int g, int b) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        String name = file.getFileName().toString();
        ImageIO.write(image, name.substring(name.lastIndexOf('.') + 1).replace("jpg", "jpeg"), file.toFile());
    }
}
