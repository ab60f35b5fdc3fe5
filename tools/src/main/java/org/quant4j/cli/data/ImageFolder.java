package org.quant4j.cli.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A folder of JPEG/PNG images, one subfolder per class (DL4J's {@code ParentPathLabelGenerator} convention: the
 * sorted subfolder names are classes 0, 1, ...); images directly in the folder have no label. Each image is resized
 * (bilinear) to the model's height and width, stretched or first cropped about its centre to the model's aspect
 * ratio; 1 channel is the image's gray level (luminance of a colour image),
 * 3 channels are blue, green, red as DL4J's {@code NativeImageLoader} gives them (or red, green, blue); values are
 * divided by 255 unless raw pixel values are asked for.
 */
public final class ImageFolder {

    private ImageFolder() {
    }

    /** The class names of {@code dir}: its subfolders, sorted. */
    public static List<String> classNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * Reads every image under {@code dir}; {@code chw} is the model's channels (1 or 3), height and width, a height
     * or width of -1 (left open by the model) the first image's.
     */
    public static LabeledData read(Path dir, long[] chw, boolean rawPixels, boolean rgb, boolean centreCrop)
            throws IOException {
        if (chw.length != 3 || (chw[0] != 1 && chw[0] != 3)) {
            throw new BadDataException(dir + ": an image folder needs a model input of shape C,H,W with 1 or 3 "
                    + "channels, got " + java.util.Arrays.toString(chw) + " (give --input-shape C,H,W)");
        }
        List<String> classes = classNames(dir);
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        if (classes.isEmpty()) {
            images(dir).forEach(files::add);
        }
        for (int c = 0; c < classes.size(); c++) {
            for (Path f : images(dir.resolve(classes.get(c)))) {
                files.add(f);
                labels.add(c);
            }
        }
        if (files.isEmpty()) {
            throw new BadDataException(dir + ": no .png, .jpg or .jpeg images in it or in its class subfolders");
        }
        int channels = (int) chw[0];
        Planes first = planes(files.get(0), channels, rgb);
        int height = chw[1] > 0 ? (int) chw[1] : first.height();
        int width = chw[2] > 0 ? (int) chw[2] : first.width();
        float scale = rawPixels ? 1f : 1f / 255f;
        float[] values = new float[files.size() * channels * height * width];
        for (int i = 0; i < files.size(); i++) {
            Planes image = i == 0 ? first : planes(files.get(i), channels, rgb);
            for (int ch = 0; ch < channels; ch++) {
                float[] plane = image.values()[ch];
                int h = image.height();
                int w = image.width();
                if (centreCrop) { // the largest centred window of the model's aspect ratio
                    int cropH = (int) Math.min(h, Math.round((double) w * height / width));
                    int cropW = (int) Math.min(w, Math.round((double) h * width / height));
                    plane = crop(plane, w, (h - cropH) / 2, (w - cropW) / 2, cropH, cropW);
                    h = cropH;
                    w = cropW;
                }
                float[] resized = resize(plane, h, w, height, width);
                int offset = ((i * channels) + ch) * height * width;
                for (int k = 0; k < resized.length; k++) {
                    values[offset + k] = resized[k] * scale;
                }
            }
        }
        INDArray features = Nd4j.create(values, new long[] {files.size(), channels, height, width}, DataType.FLOAT);
        return new LabeledData(dir.toString(), features,
                classes.isEmpty() ? null : labels.stream().mapToInt(Integer::intValue).toArray());
    }

    private static List<Path> images(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
            }).sorted().toList();
        }
    }

    /** An image's channels, each a plane of height x width values 0..255. */
    private record Planes(int height, int width, float[][] values) {
    }

    private static Planes planes(Path file, int channels, boolean rgb) {
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new BadDataException(file + ": not a readable image (" + e.getMessage() + ")", e);
        }
        if (image == null) {
            throw new BadDataException(file + ": not a readable image (no image reader recognises its content)");
        }
        int h = image.getHeight();
        int w = image.getWidth();
        float[][] planes = new float[channels][h * w];
        boolean gray = image.getType() == BufferedImage.TYPE_BYTE_GRAY;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int k = y * w + x;
                if (gray) {
                    float v = image.getRaster().getSample(x, y, 0);
                    for (int c = 0; c < channels; c++) {
                        planes[c][k] = v;
                    }
                    continue;
                }
                int argb = image.getRGB(x, y);
                float r = (argb >> 16) & 0xff;
                float g = (argb >> 8) & 0xff;
                float b = argb & 0xff;
                if (channels == 1) {
                    planes[0][k] = 0.299f * r + 0.587f * g + 0.114f * b;
                } else {
                    planes[0][k] = rgb ? r : b;
                    planes[1][k] = g;
                    planes[2][k] = rgb ? b : r;
                }
            }
        }
        return new Planes(h, w, planes);
    }

    /** The {@code height} x {@code width} window at ({@code top}, {@code left}) of a plane {@code stride} wide. */
    static float[] crop(float[] plane, int stride, int top, int left, int height, int width) {
        float[] out = new float[height * width];
        for (int y = 0; y < height; y++) {
            System.arraycopy(plane, (top + y) * stride + left, out, y * width, width);
        }
        return out;
    }

    /** Bilinear resize (pixel centres aligned); the plane itself when the size is already right. */
    static float[] resize(float[] plane, int h, int w, int height, int width) {
        if (h == height && w == width) {
            return plane;
        }
        float[] out = new float[height * width];
        for (int y = 0; y < height; y++) {
            double sy = Math.min(Math.max((y + 0.5) * h / height - 0.5, 0), h - 1);
            int y0 = (int) sy;
            int y1 = Math.min(y0 + 1, h - 1);
            double fy = sy - y0;
            for (int x = 0; x < width; x++) {
                double sx = Math.min(Math.max((x + 0.5) * w / width - 0.5, 0), w - 1);
                int x0 = (int) sx;
                int x1 = Math.min(x0 + 1, w - 1);
                double fx = sx - x0;
                double top = plane[y0 * w + x0] * (1 - fx) + plane[y0 * w + x1] * fx;
                double bottom = plane[y1 * w + x0] * (1 - fx) + plane[y1 * w + x1] * fx;
                out[y * width + x] = (float) (top * (1 - fy) + bottom * fy);
            }
        }
        return out;
    }
}
