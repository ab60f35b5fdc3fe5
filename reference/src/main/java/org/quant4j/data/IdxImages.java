package org.quant4j.data;

import java.nio.file.Path;

/**
 * The contents of an IDX3 image file (magic {@code 0x00000803}): {@code count} unsigned-byte images of
 * {@code rows x cols} pixels, stored row-major, image after image.
 *
 * @param source the file read
 * @param count number of images
 * @param rows pixel rows per image
 * @param cols pixel columns per image
 * @param pixels {@code count * rows * cols} raw pixel bytes (read as unsigned: {@code b & 0xFF})
 */
public record IdxImages(Path source, int count, int rows, int cols, byte[] pixels) {

    public IdxImages {
        if ((long) count * rows * cols != pixels.length) {
            throw new IllegalArgumentException("pixels length " + pixels.length + " != " + count + "*" + rows + "*" + cols);
        }
    }

    /** Pixels per image, {@code rows * cols}. */
    public int imageSize() {
        return rows * cols;
    }

    /** Unsigned value (0..255) of pixel {@code p} (row-major within the image) of image {@code i}. */
    public int pixel(int i, int p) {
        return pixels[i * imageSize() + p] & 0xFF;
    }
}
