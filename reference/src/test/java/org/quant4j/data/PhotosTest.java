package org.quant4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class PhotosTest {

    @Test
    void missingPhotosWithoutFetchingGiveAClearError(@TempDir Path dir) {
        Photos photos = Photos.of(Datasets.at(dir).withFetching(false));
        PhotosUnavailableException e = assertThrows(PhotosUnavailableException.class, () -> photos.samples(1, 3, 8, 8));
        assertTrue(e.getMessage().contains("dog.jpg") && e.getMessage().contains("fetch-datasets.sh photos")
                && e.getMessage().contains(dir.resolve("photos").toString()), e.getMessage());
    }

    @Test
    void realPhotosBecomeNchwSamplesInZeroOne() {
        Photos photos = Photos.fromEnvironment();
        INDArray x = photos.samples(18, 3, 32, 40);
        assertArrayEquals(new long[] {18, 3, 32, 40}, x.shape());
        assertTrue(x.minNumber().doubleValue() >= 0 && x.maxNumber().doubleValue() <= 1);
        assertTrue(x.stdNumber().doubleValue() > 0.05, "photos are not flat images");
        // Sample 9 is photo 0 mirrored: its first column is the whole photo's last column, up to resampling.
        INDArray whole = x.get(NDArrayIndex.point(0));
        INDArray mirrored = x.get(NDArrayIndex.point(9));
        INDArray flippedBack = mirrored.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 40)).dup();
        for (int col = 0; col < 40; col++) {
            flippedBack.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(col))
                    .assign(mirrored.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(39 - col)));
        }
        double diff = whole.sub(flippedBack).amaxNumber().doubleValue();
        assertTrue(diff < 0.2, "mirror view differs from the flipped photo by " + diff);
        assertNotEquals(0.0, whole.sub(mirrored).amaxNumber().doubleValue());
        INDArray grey = photos.samples(2, 1, 28, 28);
        assertEquals(1, grey.size(1));
        assertThrows(IllegalArgumentException.class, () -> photos.samples(9 * Photos.VIEWS, 1, 3, 8, 8));
    }
}
