package org.quant4j.calib;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.quant4j.QuantizationException;
import org.quant4j.nd4j.NativeArrays;

/**
 * Streams the values of one tensor, batch after batch, into one {@link ChannelStatistics} per channel. Nothing of
 * the tensor is kept: memory is channels x (statistics size), whatever the number of batches.
 *
 * <p>Observers of the same tensor fed with different batches (on other threads or machines: the class is
 * Serializable) {@link #merge} into the statistics of all the batches: counts, extremes and histograms exactly,
 * moments to floating-point rounding ({@link ChannelStatistics#merge}).
 */
public final class TensorObserver implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

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
        if (axis < 0 || channels.length == 1) {
            accept(value, 0, value);
            return;
        }
        // A block of channels at a time: the copies (native and on the heap) stay near BLOCK_ELEMENTS whatever the
        // tensor's size; each channel still gets all its values in one call, so the statistics are the same.
        long perChannel = value.length() / channels.length;
        int block = (int) Math.max(1, Math.min(channels.length, BLOCK_ELEMENTS / Math.max(1, perChannel)));
        for (int from = 0; from < channels.length; from += block) {
            int to = Math.min(channels.length, from + block);
            INDArray part = block == channels.length ? value : value.get(span(rank, axis, from, to));
            accept(part, from, value);
            NativeArrays.release(part, value);
        }
    }

    /** Elements copied at a time (16 MB of floats), in whole channels. */
    static final long BLOCK_ELEMENTS = 1L << 22;

    /** Adds the values of {@code part} (channels {@code first}.. of the tensor {@code value}) to their statistics. */
    private void accept(INDArray part, int first, INDArray value) {
        INDArray channelMajor = axis <= 0 ? part : part.permute(moveToFront(rank, axis));
        INDArray typed = channelMajor.castTo(DataType.FLOAT);
        INDArray contiguous = typed.dup('c');
        float[] data = contiguous.data().asFloat();
        // Copies made here are freed now rather than by the garbage collector (native memory it does not see).
        NativeArrays.release(contiguous, value, part);
        NativeArrays.release(typed, value, part, channelMajor);
        int count = axis < 0 ? 1 : (int) part.size(axis);
        int perChannel = data.length / count;
        for (int c = 0; c < count; c++) {
            channels[first + c].accept(data, c * perChannel, (c + 1) * perChannel);
        }
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex[] span(int rank, int axis, int from, int to) {
        org.nd4j.linalg.indexing.INDArrayIndex[] index = new org.nd4j.linalg.indexing.INDArrayIndex[rank];
        for (int d = 0; d < rank; d++) {
            index[d] = d == axis ? org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to)
                    : org.nd4j.linalg.indexing.NDArrayIndex.all();
        }
        return index;
    }

    /**
     * Whether {@link #observe(long[], ChunkSummary[])} takes these summaries of one batch: one per channel, of a
     * tensor of the shape seen so far, each taken by its channel's statistics ({@link ChannelStatistics#takes}).
     */
    public boolean takes(long[] shape, ChunkSummary[] chunks) {
        int n = axis < 0 ? 1 : axis < shape.length ? (int) shape[axis] : -1;
        if (chunks.length != n || (rank >= 0 && (shape.length != rank || n != channels.length))) {
            return false;
        }
        for (ChunkSummary chunk : chunks) {
            if (!chunk.fits(ChannelStatistics.DEFAULT_BINS)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Adds one batch of the tensor, summarized per channel elsewhere (the observer ops in the graph): the same
     * statistics as {@link #observe(INDArray)} of the batch ({@link ChannelStatistics#acceptSummary}).
     *
     * @throws QuantizationException when the summaries do not fit this tensor ({@link #takes})
     */
    public void observe(long[] shape, ChunkSummary[] chunks) {
        if (!takes(shape, chunks)) {
            throw new QuantizationException("tensor '" + tensor + "': the summaries of shape " + Arrays.toString(shape)
                    + " (" + chunks.length + " channels) do not fit its statistics (channel axis " + axis
                    + ", shape seen " + Arrays.toString(channelShape) + ")");
        }
        if (rank < 0) {
            rank = shape.length;
            channels = new ChannelStatistics[chunks.length];
            for (int c = 0; c < chunks.length; c++) {
                channels[c] = new ChannelStatistics();
            }
            channelShape = shape.clone();
        }
        for (int c = 0; c < channels.length; c++) {
            channels[c].acceptSummary(chunks[c]);
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

    /** An independent copy of this observer and its statistics. */
    public TensorObserver copy() {
        TensorObserver copy = new TensorObserver(tensor, axis);
        copy.merge(this);
        return copy;
    }

    /**
     * Adds everything {@code other} has observed (another observer of the same tensor and axis, fed with other
     * batches); {@code other} is not changed. An observer that has seen nothing merges as nothing.
     *
     * @throws QuantizationException when {@code other} observes another tensor or axis, or saw the tensor with
     *                               another rank or number of channels
     */
    public void merge(TensorObserver other) {
        if (other == this) {
            throw new IllegalArgumentException("cannot merge an observer into itself");
        }
        if (!other.tensor.equals(tensor) || other.axis != axis) {
            throw new QuantizationException("cannot merge the statistics of tensor '" + other.tensor + "' (channel axis "
                    + other.axis + ") into those of tensor '" + tensor + "' (channel axis " + axis + ")");
        }
        if (other.rank < 0) {
            return;
        }
        if (rank < 0) {
            rank = other.rank;
            channelShape = other.channelShape.clone();
            channels = new ChannelStatistics[other.channels.length];
            for (int c = 0; c < channels.length; c++) {
                channels[c] = other.channels[c].copy();
            }
            return;
        }
        if (other.rank != rank || other.channels.length != channels.length) {
            throw new QuantizationException("cannot merge the statistics of tensor '" + tensor + "': seen with shape "
                    + Arrays.toString(channelShape) + " here and " + Arrays.toString(other.channelShape)
                    + " there (rank or number of channels differ)");
        }
        for (int c = 0; c < channels.length; c++) {
            channels[c].merge(other.channels[c]);
        }
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
