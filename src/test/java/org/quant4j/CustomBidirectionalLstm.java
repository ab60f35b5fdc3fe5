package org.quant4j;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import org.deeplearning4j.nn.conf.layers.GravesBidirectionalLSTM;
import org.nd4j.linalg.activations.Activation;

/**
 * A layer quant4j does not convert, standing for a user's custom layer: DL4J's GravesBidirectionalLSTM under a class
 * of its own (quant4j's converters match layer classes exactly), which DL4J instantiates, trains and runs as the
 * layer it extends.
 */
public final class CustomBidirectionalLstm extends GravesBidirectionalLSTM {

    /** For DL4J's cloning and JSON. */
    public CustomBidirectionalLstm() {
    }

    /** The layer {@code name} with {@code nIn} inputs (0: from the input type), {@code nOut} units and the activation. */
    public static CustomBidirectionalLstm of(String name, int nIn, int nOut, Activation activation) {
        GravesBidirectionalLSTM built = new GravesBidirectionalLSTM.Builder().name(name).nIn(nIn).nOut(nOut)
                .activation(activation).build();
        CustomBidirectionalLstm layer = new CustomBidirectionalLstm();
        try {
            for (Class<?> k = GravesBidirectionalLSTM.class; k != Object.class; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    if (!Modifier.isStatic(f.getModifiers())) {
                        f.setAccessible(true);
                        f.set(layer, f.get(built));
                    }
                }
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        return layer;
    }
}
