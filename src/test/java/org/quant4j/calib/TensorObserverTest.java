package org.quant4j.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A tensor larger than the observer's copy block is read a block of channels at a time: each channel's statistics
 * are exactly those of its values read on their own.
 */
class TensorObserverTest {

    @Test
    void aTensorReadInBlocksOfChannelsGivesEachChannelItsOwnStatistics() {
        Nd4j.getRandom().setSeed(7);
        // 2 x 24 x 300 x 300 = 4.3 M values: more than one block; the channels differ in scale.
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 24, 300, 300);
        x.muli(Nd4j.linspace(DataType.FLOAT, 0.5, 12, 24).reshape(1, 24, 1, 1));
        assertTrue(x.length() > TensorObserver.BLOCK_ELEMENTS);
        TensorObserver observer = new TensorObserver("x", 1);
        observer.observe(x);
        observer.observe(x.mul(2));
        ChannelStatistics[] channels = observer.channels();
        assertEquals(24, channels.length);
        for (int c = 0; c < 24; c++) {
            ChannelStatistics alone = new ChannelStatistics();
            for (INDArray batch : new INDArray[] {x, x.mul(2)}) {
                INDArray channel = batch.get(NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.all(),
                        NDArrayIndex.all()).dup('c');
                alone.accept(channel.data().asFloat());
            }
            ChannelStatistics seen = channels[c];
            assertEquals(alone.count(), seen.count(), "channel " + c);
            assertEquals(alone.min(), seen.min(), "channel " + c);
            assertEquals(alone.max(), seen.max(), "channel " + c);
            assertEquals(alone.mean(), seen.mean(), "channel " + c);
            assertEquals(alone.centralSum(4), seen.centralSum(4), "channel " + c);
            assertEquals(alone.histogram(), seen.histogram(), "channel " + c);
        }
    }

    @Test
    void aWholeTensorObserverSeesEveryValueOnce() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 1500, 1000);
        TensorObserver observer = new TensorObserver("x", -1);
        observer.observe(x);
        assertEquals(1, observer.channels().length);
        assertEquals(x.length(), observer.channels()[0].count());
        assertEquals(x.maxNumber().doubleValue(), observer.channels()[0].max(), 0);
    }
}
