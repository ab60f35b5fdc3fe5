package org.quant4j.runtime;

import org.bytedeco.dnnl.memory;

/** The element types integer kernels read and write. */
public enum ElementType {
    U8(memory.data_type.u8, 1), S8(memory.data_type.s8, 1), F32(memory.data_type.f32, 4);

    final memory.data_type dnnl;
    final int bytes;

    ElementType(memory.data_type dnnl, int bytes) {
        this.dnnl = dnnl;
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}
