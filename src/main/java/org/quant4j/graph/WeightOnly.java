package org.quant4j.graph;

import java.util.List;

/**
 * A constant weight quantized on its own (weight only): per channel along {@code axis}, without the scales of any
 * activation folded in; its readers run in floating point on the dequantized values. Two kinds: a weight that
 * several otherwise quantizable ops share (the recurrent weights of a recurrent layer unrolled over its time steps:
 * one matrix product per step; per output channel), and an embedding table read by a {@code gather} (per row: the
 * table is stored as INT8, 4x smaller).
 *
 * @param weight  the constant's name
 * @param readers the ops that read it, in graph order
 * @param type    the readers' kind ({@code matmul}, {@code xw_plus_b}, {@code gather}, ...)
 * @param axis    the channel axis of the weight (output channels; rows of a table)
 */
public record WeightOnly(String weight, List<String> readers, String type, int axis) {

    public WeightOnly {
        readers = List.copyOf(readers);
    }
}
