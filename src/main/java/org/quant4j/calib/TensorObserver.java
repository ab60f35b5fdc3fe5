package org.quant4j.calib;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationException;
import org.quant4j.nd4j.NativeArrays;

/**
 * Streams the values of one tensor, batch after batch, into one {@link ChannelStatistics} per channel. Nothing of
 * the tensor is kept: memory is channels x (statistics size), whatever the number of batches.
 */
public final class TensorObserver {

    private final String tensor;
    private final int axis;
    private ChannelStatistics[] channels;
    private long[] channelShape;
    private int rank = -1;

    /**
     * @param tensor the variable observed, for messages
     * @param axis   the channel axis; -1 to treat the whole tensor as one channel
     */
    public TensorObserver(String tensor, int axis) {
        this.tensor = tensor;
        this.axis = axis;
    }

    /** Adds one batch (or one weight array) of the tensor. */
    public void observe(INDArray value) {
        if (rank < 0) {
            rank = value.rank();
            if (axis >= rank) {
                throw new QuantizationException("tensor '" + tensor + "' has rank " + rank + " (shape "
                        + Arrays.toString(value.shape()) + ") but channel axis " + axis + " was expected");
            }
            int n = axis < 0 ? 1 : (int) value.size(axis);
            channels = new ChannelStatistics[n];
            for (int c = 0; c < n; c++) {
                channels[c] = new ChannelStatistics();
            }
            channelShape = value.shape();
        } else if (value.rank() != rank || (axis >= 0 && value.size(axis) != channels.length)) {
            throw new QuantizationException("tensor '" + tensor + "' changed shape between batches: "
                    + Arrays.toString(channelShape) + " then " + Arrays.toString(value.shape()));
        }
        INDArray channelMajor = axis <= 0 ? value : value.permute(moveToFront(rank, axis));
        INDArray typed = channelMajor.castTo(DataType.FLOAT);
        INDArray contiguous = typed.dup('c');
        float[] data = contiguous.data().asFloat();
        // Copies made here are freed now rather than by the garbage collector (native memory it does not see).
        NativeArrays.release(contiguous, value);
        NativeArrays.release(typed, value, channelMajor);
        int perChannel = data.length / channels.length;
        for (int c = 0; c < channels.length; c++) {
            channels[c].accept(data, c * perChannel, (c + 1) * perChannel);
        }
    }

    private static int[] moveToFront(int rank, int axis) {
        int[] order = new int[rank];
        order[0] = axis;
        for (int d = 0, k = 1; d < rank; d++) {
            if (d != axis) {
                order[k++] = d;
            }
        }
        return order;
    }

    public String tensor() {
        return tensor;
    }

    public int axis() {
        return axis;
    }

    /** The rank of the observed tensor, or -1 before the first batch. */
    public int rank() {
        return rank;
    }

    /** The statistics per channel (one entry when the axis is -1); empty before the first batch. */
    public ChannelStatistics[] channels() {
        return channels == null ? new ChannelStatistics[0] : channels.clone();
    }

    /**
     * The memory this observer keeps, from array lengths: its statistics ({@link ChannelStatistics#retainedBytes})
     * and its own fields. Fixed after the first batch, whatever the number of batches.
     */
    public long retainedBytes() {
        long bytes = 16 + 4 * 8 + 2 * 4;
        if (channels != null) {
            bytes += 16 + 8L * channels.length + 16 + 8L * channelShape.length;
            for (ChannelStatistics c : channels) {
                bytes += c.retainedBytes();
            }
        }
        return bytes;
    }

    /** The statistics of all channels together. */
    public ChannelStatistics merged() {
        ChannelStatistics all = new ChannelStatistics();
        for (ChannelStatistics c : channels()) {
            all.merge(c);
        }
        return all;
    }
}
