package org.quant4j.graph;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.memory.NoOpMemoryMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs SameDiff graphs for quant4j. SameDiff M2.1's default session memory manager ({@code ArrayCacheMemoryMgr})
 * reuses arrays while they are still needed in some graphs (seen here: a dense layer's output changed between two
 * runs on the same input, depending on which variables were requested). Every session quant4j runs therefore uses
 * {@link NoOpMemoryMgr}, which allocates fresh arrays: slower, but correct and deterministic.
 */
public final class GraphExecution {

    private GraphExecution() {
    }

    /** The values of {@code variables} for the given placeholder values. */
    public static Map<String, INDArray> output(SameDiff sd, Map<String, INDArray> feed, List<String> variables) {
        long thread = Thread.currentThread().getId();
        InferenceSession session = sd.getSessions().get(thread);
        if (session == null || !(session.getMmgr() instanceof NoOpMemoryMgr)) {
            session = new InferenceSession(sd);
            session.setMmgr(new NoOpMemoryMgr());
            sd.getSessions().put(thread, session);
        }
        return sd.output(feed, variables);
    }
}
