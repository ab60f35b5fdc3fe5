package org.quant4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizedModel;

/**
 * The module runs with the Jackson Spark 3.3 wants ([2.13, 2.14): its Scala module refuses others), not the
 * library's; the library's .q4j metadata, read with Jackson, still saves and loads with it.
 */
class JacksonTest {

    @Test
    void sparksJacksonIsOnTheClassPathAndTheModelFileReadsWithIt() throws Exception {
        com.fasterxml.jackson.core.Version databind = com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION;
        assertEquals(2, databind.getMajorVersion(), databind.toString());
        assertEquals(13, databind.getMinorVersion(), databind.toString());
        LocalSpark.session(); // Spark's Scala module checks the version when Spark starts

        QuantizedModel model = LocalSpark.quantized();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        model.save(bytes);
        QuantizedModel loaded = QuantizedModel.load(new ByteArrayInputStream(bytes.toByteArray()));
        assertEquals(model.options(), loaded.options());
        assertEquals(model.quantizations().size(), loaded.quantizations().size());
        for (int i = 0; i < model.quantizations().size(); i++) {
            assertArrayEquals(model.quantizations().get(i).scales(), loaded.quantizations().get(i).scales());
        }
        INDArray x = LocalSpark.testImages().features();
        assertTrue(model.output(x).equals(loaded.output(x)), "outputs of the loaded model differ");
    }
}
