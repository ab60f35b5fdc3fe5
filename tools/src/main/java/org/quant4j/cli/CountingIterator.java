package org.quant4j.cli;

import java.util.List;
import me.tongfei.progressbar.ProgressBar;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * A {@link DataSetIterator} that steps a progress bar for every batch pulled from it: progress for code that
 * consumes an iterator (the quantizer's calibration) without a hook in that code. Not asynchronous, so batches are
 * counted when they are used, not when they are prefetched.
 */
final class CountingIterator implements DataSetIterator {

    private final DataSetIterator delegate;
    private final ProgressBar bar;

    CountingIterator(DataSetIterator delegate, ProgressBar bar) {
        this.delegate = delegate;
        this.bar = bar;
    }

    @Override
    public DataSet next(int num) {
        DataSet d = delegate.next(num);
        bar.step();
        return d;
    }

    @Override
    public DataSet next() {
        DataSet d = delegate.next();
        bar.step();
        return d;
    }

    @Override
    public boolean hasNext() {
        return delegate.hasNext();
    }

    @Override
    public int inputColumns() {
        return delegate.inputColumns();
    }

    @Override
    public int totalOutcomes() {
        return delegate.totalOutcomes();
    }

    @Override
    public boolean resetSupported() {
        return delegate.resetSupported();
    }

    @Override
    public boolean asyncSupported() {
        return false;
    }

    @Override
    public void reset() {
        delegate.reset();
    }

    @Override
    public int batch() {
        return delegate.batch();
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        delegate.setPreProcessor(preProcessor);
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return delegate.getPreProcessor();
    }

    @Override
    public List<String> getLabels() {
        return delegate.getLabels();
    }
}
