package org.quant4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.QuantizationListener.Phase;

/** The phases a quantization reports to the listener installed for it, nested and in order. */
class QuantizationPhasesTest {

    /** Records "+PHASE" and "-PHASE" in the order they are reported. */
    static final class Recorder implements QuantizationListener {
        final List<String> events = new ArrayList<>();

        @Override
        public void started(Phase phase) {
            events.add("+" + phase);
        }

        @Override
        public void finished(Phase phase, long nanos) {
            assertTrue(nanos >= 0, phase + " took " + nanos + " ns");
            events.add("-" + phase);
        }
    }

    @Test
    void quantizeReportsItsPhasesNestedAndInOrder() {
        Recorder recorder = new Recorder();
        QuantizedModel q = QuantizationPhases.listening(recorder,
                () -> Quantizer.quantize(TestNetworks.cnn(), TestNetworks.randomIterator(8, new long[] {1, 28, 28}, 10,
                        2, 3)));
        List<String> events = recorder.events;
        List<String> open = new ArrayList<>();
        for (String e : events) {
            if (e.startsWith("+")) {
                open.add(e.substring(1));
            } else {
                assertEquals(open.remove(open.size() - 1), e.substring(1), "phases close in reverse order: " + events);
            }
        }
        assertTrue(open.isEmpty(), "every phase finished: " + events);
        List<String> top = new ArrayList<>();
        int depth = 0;
        for (String e : events) {
            if (e.startsWith("+") && depth++ == 0) {
                String phase = e.substring(1);
                if (top.isEmpty() || !top.get(top.size() - 1).equals(phase)) { // conversion: DL4J, then prepared
                    top.add(phase);
                }
            } else if (e.startsWith("-")) {
                depth--;
            }
        }
        assertEquals(List.of("CONVERSION", "CALIBRATION", "SOLVE"), top.subList(0, 3), events.toString());
        assertTrue(top.indexOf("REWRITE") > top.indexOf("SOLVE"), events.toString());
        assertTrue(!events.contains("+POINT_CHOICE") || events.indexOf("+POINT_CHOICE") > events.indexOf("+SOLVE")
                && events.indexOf("-POINT_CHOICE") < events.indexOf("-SOLVE"), "the point choice inside the solve: "
                + events);
        assertNull(QuantizationPhases.current(), "the listener is removed after the call");

        Recorder later = new Recorder();
        QuantizationPhases.listening(later, () -> q.output(Nd4j.rand(DataType.FLOAT, 2, 1, 28, 28)));
        assertTrue(later.events.isEmpty() || later.events.contains("+PLAN_BUILD"), later.events.toString());
    }

    @Test
    void withoutAListenerNothingIsReportedAndANullListenerIsRefused() {
        assertNull(QuantizationPhases.current());
        assertEquals(3, QuantizationPhases.timed(Phase.SOLVE, () -> 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QuantizationPhases.listening(null, () -> 1));
        assertTrue(e.getMessage().contains("listener"), e.getMessage());
    }
}
