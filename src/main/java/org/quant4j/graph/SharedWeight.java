package org.quant4j.graph;

import java.util.List;

/**
 * A constant weight that several quantizable ops read (the recurrent weights of a recurrent layer unrolled over its
 * time steps: one matrix product per step). It is quantized on its own, per output channel along
 * {@code weightAxis}, without the scales of any activation folded in; its readers run in floating point on the
 * dequantized values (weight-only quantization).
 *
 * @param weight     the constant's name
 * @param readers    the ops that read it, in graph order
 * @param type       the readers' kind ({@code matmul}, {@code xw_plus_b}, ...)
 * @param weightAxis the output-channel axis of the weight
 */
public record SharedWeight(String weight, List<String> readers, String type, int weightAxis) {

    public SharedWeight {
        readers = List.copyOf(readers);
    }
}
