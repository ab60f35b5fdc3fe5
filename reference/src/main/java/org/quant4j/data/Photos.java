package org.quant4j.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nine real photos for calibrating and checking models that take natural images: the seven JPEGs that Debian's
 * {@code darknet} package ships ({@code data/*.jpg}: dog, eagle, giraffe, horses, kite, person, scream) and the two of
 * {@code python3-sklearn} ({@code china.jpg}, {@code flower.jpg}). They live in {@code <data root>/photos/} (the
 * root of {@link Datasets}); missing ones are fetched with {@code apt-get download} + {@code dpkg-deb -x}, no root
 * needed, as {@code scripts/fetch-datasets.sh photos} does.
 *
 * <p>{@link #samples} turns them into model inputs: for each photo twelve views (the whole photo, the centre
 * crop and the four corner crops of 75% side, each also mirrored left-right), resized bilinearly to the model's
 * input size, RGB (or grey for one channel) scaled to [0, 1], NCHW. Sample {@code i} is view {@code i / 9} of photo
 * {@code i % 9}, so the first nine samples are the nine whole photos.
 */
public final class Photos {

    /** The Debian packages the photos come from. */
    public static final List<String> PACKAGES = List.of("darknet", "python3-sklearn");

    /** Photo file name to its path inside its package. */
    private static final Map<String, String> FILES = new LinkedHashMap<>();

    static {
        for (String n : List.of("dog", "eagle", "giraffe", "horses", "kite", "person", "scream")) {
            FILES.put(n + ".jpg", "usr/share/darknet/data/" + n + ".jpg");
        }
        FILES.put("china.jpg", "usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg");
        FILES.put("flower.jpg", "usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg");
    }

    /** Views per photo: 6 crops, each as is and mirrored. */
    public static final int VIEWS = 12;

    private static final Logger LOG = LoggerFactory.getLogger(Photos.class);

    private final Path directory;
    private final boolean fetching;
    private final Duration timeout;

    private Photos(Path directory, boolean fetching, Duration timeout) {
        this.directory = directory;
        this.fetching = fetching;
        this.timeout = timeout;
    }

    /** The photos under the data root of {@link Datasets#fromEnvironment()}, fetched when missing unless disabled. */
    public static Photos fromEnvironment() {
        return of(Datasets.fromEnvironment());
    }

    /** The photos in {@code datasets.root()/photos}, with the same fetching settings. */
    public static Photos of(Datasets datasets) {
        return new Photos(datasets.root().resolve("photos"), datasets.fetchingEnabled(), datasets.fetchTimeout());
    }

    /** The photo file names, in sample order. */
    public static List<String> names() {
        return List.copyOf(FILES.keySet());
    }

    public Path directory() {
        return directory;
    }

    /** The photos missing from the cache. */
    public List<String> missing() {
        return FILES.keySet().stream().filter(n -> !Files.isRegularFile(directory.resolve(n))).toList();
    }

    /**
     * Makes sure all photos are in the cache, fetching them when allowed.
     *
     * @throws PhotosUnavailableException when some are missing and cannot be fetched
     */
    public Path ensureAvailable() {
        List<String> missing = missing();
        if (missing.isEmpty()) {
            return directory;
        }
        if (!fetching) {
            throw new PhotosUnavailableException(directory, missing, "fetching is disabled (-D"
                    + Datasets.FETCH_PROPERTY + "=false)", null);
        }
        fetch(missing);
        List<String> still = missing();
        if (!still.isEmpty()) {
            throw new PhotosUnavailableException(directory, still, "the fetched packages do not hold them", null);
        }
        return directory;
    }

    /** The decoded photos (RGB), in {@link #names()} order. */
    public List<BufferedImage> images() {
        ensureAvailable();
        List<BufferedImage> images = new ArrayList<>();
        for (String name : FILES.keySet()) {
            Path file = directory.resolve(name);
            try {
                BufferedImage image = ImageIO.read(file.toFile());
                if (image == null) {
                    throw new PhotosUnavailableException(directory, List.of(name), "ImageIO cannot decode " + file, null);
                }
                images.add(image);
            } catch (IOException e) {
                throw new PhotosUnavailableException(directory, List.of(name), "cannot read " + file + ": " + e, e);
            }
        }
        return images;
    }

    /**
     * {@code count} samples of shape [count, channels, height, width] (see the class comment for the order).
     *
     * @param channels 3 (RGB) or 1 (grey: the mean of R, G and B)
     */
    public INDArray samples(int count, int channels, int height, int width) {
        return samples(0, count, channels, height, width);
    }

    /** Samples {@code first .. first + count - 1} (at most {@code 9 * VIEWS} in all). */
    public INDArray samples(int first, int count, int channels, int height, int width) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("photos have 1 (grey) or 3 (RGB) channels, not " + channels);
        }
        if (height <= 0 || width <= 0 || count <= 0 || first < 0) {
            throw new IllegalArgumentException("need positive count and size and first >= 0, got first " + first
                    + ", count " + count + ", " + height + "x" + width);
        }
        List<BufferedImage> images = images();
        int total = images.size() * VIEWS;
        if (first + count > total) {
            throw new IllegalArgumentException("asked for samples " + first + ".." + (first + count - 1) + " but the "
                    + images.size() + " photos give " + total + " (" + VIEWS + " views each)");
        }
        float[] data = new float[count * channels * height * width];
        int plane = height * width;
        for (int s = 0; s < count; s++) {
            int i = first + s;
            BufferedImage view = view(images.get(i % images.size()), i / images.size(), width, height);
            int base = s * channels * plane;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int rgb = view.getRGB(x, y);
                    float r = ((rgb >> 16) & 0xff) / 255f;
                    float g = ((rgb >> 8) & 0xff) / 255f;
                    float b = (rgb & 0xff) / 255f;
                    if (channels == 1) {
                        data[base + y * width + x] = (r + g + b) / 3f;
                    } else {
                        data[base + y * width + x] = r;
                        data[base + plane + y * width + x] = g;
                        data[base + 2 * plane + y * width + x] = b;
                    }
                }
            }
        }
        return Nd4j.create(data, new long[] {count, channels, height, width}, 'c').castTo(DataType.FLOAT);
    }

    /** View {@code v} (0..11): crop {@code v / 2} (whole, centre, four corners of 75% side), mirrored when v is odd. */
    static BufferedImage view(BufferedImage image, int v, int width, int height) {
        int w = image.getWidth();
        int h = image.getHeight();
        int crop = v / 2;
        int cw = crop == 0 ? w : w * 3 / 4;
        int ch = crop == 0 ? h : h * 3 / 4;
        int x0 = switch (crop) {
            case 0, 2, 4 -> 0;
            case 1 -> (w - cw) / 2;
            default -> w - cw;
        };
        int y0 = switch (crop) {
            case 0, 2, 3 -> 0;
            case 1 -> (h - ch) / 2;
            default -> h - ch;
        };
        boolean mirror = v % 2 == 1;
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        if (mirror) {
            g.drawImage(image, width, 0, 0, height, x0, y0, x0 + cw, y0 + ch, null);
        } else {
            g.drawImage(image, 0, 0, width, height, x0, y0, x0 + cw, y0 + ch, null);
        }
        g.dispose();
        return out;
    }

    private void fetch(List<String> missing) {
        LOG.info("Fetching photos (Debian packages {}) into {}; missing: {}", PACKAGES, directory.toAbsolutePath(),
                missing);
        Path work = null;
        try {
            Files.createDirectories(directory);
            work = Files.createTempDirectory("quant4j-fetch-photos-");
            Path extracted = work.resolve("extracted");
            Files.createDirectories(extracted);
            List<String> download = new ArrayList<>(List.of("apt-get", "download"));
            download.addAll(PACKAGES);
            run(work, missing, download);
            try (Stream<Path> debs = Files.list(work)) {
                for (Path deb : debs.filter(p -> p.toString().endsWith(".deb")).toList()) {
                    run(work, missing, List.of("dpkg-deb", "-x", deb.toString(), extracted.toString()));
                }
            }
            for (String name : missing) {
                Path src = extracted.resolve(FILES.get(name));
                if (Files.isRegularFile(src)) {
                    DatasetFetcher.installAtomically(src, directory.resolve(name));
                }
            }
        } catch (IOException e) {
            throw new PhotosUnavailableException(directory, missing, "fetching failed: " + e, e);
        } finally {
            if (work != null) {
                deleteTree(work);
            }
        }
    }

    private void run(Path work, List<String> missing, List<String> command) throws IOException {
        Path log = work.resolve("command-output.log");
        Process p;
        try {
            p = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new PhotosUnavailableException(directory, missing, "cannot run '" + command.get(0) + "' ("
                    + e.getMessage() + "); is it installed and on the PATH?", e);
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new PhotosUnavailableException(directory, missing, "'" + String.join(" ", command)
                        + "' did not finish within " + timeout.toSeconds() + " s", null);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new PhotosUnavailableException(directory, missing, "interrupted", e);
        }
        if (p.exitValue() != 0) {
            String out = Files.readString(log).strip();
            throw new PhotosUnavailableException(directory, missing, "'" + String.join(" ", command)
                    + "' failed with exit code " + p.exitValue() + ": "
                    + (out.length() > 1000 ? "..." + out.substring(out.length() - 1000) : out), null);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.debug("Cannot clean up {}: {}", root, e.toString());
        }
    }
}
