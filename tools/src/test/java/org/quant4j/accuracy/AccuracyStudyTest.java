package org.quant4j.accuracy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.Granularity;
import org.quant4j.cli.Progress;
import org.quant4j.data.Datasets;
import org.quant4j.data.LabeledImages;
import org.quant4j.data.Split;
import org.quant4j.reference.ReferenceNetwork;

/** The accuracy study on the committed reference networks and the real data sets. */
@Tag("slow")
class AccuracyStudyTest {

    private static final Datasets DATA = Datasets.fromEnvironment();
    /** The committed trained networks: the repository's models/ (the tools pom names it; tests run in tools/). */
    private static final Path MODELS = Path.of(System.getProperty("quant4j.models", "models"));

    private static Set<ByteBuffer> images(INDArray features) {
        Set<ByteBuffer> keys = new HashSet<>();
        long n = features.size(0);
        for (long i = 0; i < n; i++) {
            float[] pixels = features.slice(i).dup('c').data().asFloat();
            ByteBuffer b = ByteBuffer.allocate(pixels.length * 4);
            b.asFloatBuffer().put(pixels);
            keys.add(b);
        }
        return keys;
    }

    @ParameterizedTest
    @EnumSource(ReferenceNetwork.class)
    void calibrationAndTestImagesNeverOverlap(ReferenceNetwork net) {
        AccuracyStudy.Settings settings = AccuracyStudy.Settings.of(List.of(net), MODELS);
        Set<ByteBuffer> test = null;
        Set<ByteBuffer> firstDraw = null;
        for (int draw = 0; draw < 3; draw++) {
            AccuracyStudy.StudyData d = AccuracyStudy.data(net, settings.draw(draw), DATA);
            assertEquals(Split.TRAIN, d.calibration().split());
            assertEquals(Split.TEST, d.test().split());
            assertEquals(AccuracyStudy.CALIBRATION_IMAGES, d.calibration().size());
            assertEquals(10_000, d.test().size());
            test = test == null ? images(d.test().features()) : test;
            Set<ByteBuffer> calibration = images(d.calibration().features());
            Set<ByteBuffer> common = new HashSet<>(calibration);
            common.retainAll(test);
            assertEquals(Set.of(), common, net.id() + " draw " + draw + ": calibration images among the test images");
            if (firstDraw == null) {
                firstDraw = calibration;
            } else {
                assertNotEquals(firstDraw, calibration, net.id() + " draw " + draw + " repeats draw 0");
            }
        }
    }

    @Test
    void theBudgetsValidationImagesAreNoneOfTheCalibrationImages() {
        ReferenceNetwork net = ReferenceNetwork.MLP_MNIST;
        AccuracyStudy.StudyData d = AccuracyStudy.data(net, AccuracyStudy.Settings.of(List.of(net), MODELS), DATA);
        LabeledImages validation = BudgetStudy.validation(net, d.calibration(), DATA);
        assertEquals(BudgetStudy.VALIDATION_IMAGES, validation.size());
        assertEquals(Split.TRAIN, validation.split());
        Set<ByteBuffer> common = images(validation.features());
        assertEquals(BudgetStudy.VALIDATION_IMAGES, common.size(), "distinct images");
        common.retainAll(images(d.calibration().features()));
        assertEquals(Set.of(), common, "validation images among the calibration images");
        // Each row is the training image its index names.
        LabeledImages all = DATA.load(net.dataset(), Split.TRAIN);
        for (int i : new int[] {0, 999, BudgetStudy.VALIDATION_IMAGES - 1}) {
            assertEquals(all.features().slice(validation.indices()[i]), validation.features().slice(i));
        }
    }

    @Test
    void mlpStudyMeasuresFp32AndEveryConfiguration() throws Exception {
        ReferenceNetwork net = ReferenceNetwork.MLP_MNIST;
        AccuracyStudy.Settings settings = new AccuracyStudy.Settings(List.of(net), MODELS, 256, 7, 2,
                List.of("minmax", "patent"), List.of(Granularity.PER_CHANNEL),
                List.of(new int[] {8, 8}, new int[] {4, 4}), 2000, 500);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<AccuracyStudy.NetworkResult> results = AccuracyStudy.run(settings, DATA,
                new PrintStream(log, true), new Progress(new PrintStream(new ByteArrayOutputStream()), false));
        AccuracyStudy.NetworkResult r = results.get(0);
        assertEquals(256, r.calibrationImages());
        assertEquals(2000, r.testImages());
        List<AccuracyStudy.Row> rows = r.rows();
        assertEquals(1 + 2 * (2 * 2 + 1), rows.size(), rows.toString());
        assertEquals(Set.of(0, 1), rows.stream().map(AccuracyStudy.Row::draw).collect(java.util.stream.Collectors.toSet()));
        LabeledImages test = AccuracyStudy.data(net, settings, DATA).test();
        double fp32 = ReferenceTraining.testAccuracy(ReferenceTraining.load(net, MODELS), test);
        assertEquals(fp32, rows.get(0).top1(), 1e-12, "fp32 row");
        for (AccuracyStudy.Row row : rows.subList(1, rows.size())) {
            assertTrue(row.top1() > 0.5 && row.top1() <= 1, row.toString());
            if (row.weightBits() == 8 && row.activationBits() == 8) {
                assertEquals(fp32, row.top1(), 0.01, "W8A8 within a point of fp32: " + row);
                assertTrue(row.agreement() > 0.99, row.toString());
            }
        }
        assertEquals("int8", rows.get(rows.size() - 1).execution());
        String md = AccuracyStudy.markdown(results);
        assertTrue(md.contains("| patent | per-channel |") && md.contains("W4A4") && md.contains("int8 runtime"), md);
        // the W8A8 cell is the mean of the two draws, with their standard deviation in parentheses
        List<AccuracyStudy.Row> w8a8 = rows.stream().filter(x -> x.method().equals("patent")
                && x.execution().equals("fake-quant") && x.weightBits() == 8).toList();
        assertEquals(2, w8a8.size());
        double mean = 100 * (w8a8.get(0).top1() + w8a8.get(1).top1()) / 2;
        double sd = 100 * Math.abs(w8a8.get(0).top1() - w8a8.get(1).top1()) / Math.sqrt(2);
        String cell = String.format(java.util.Locale.ROOT, "| patent | per-channel | %.2f (%.2f) |", mean, sd);
        assertTrue(md.contains(cell), cell + " in\n" + md);
    }
}
