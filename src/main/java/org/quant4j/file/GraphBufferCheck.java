package org.quant4j.file;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.IntFunction;
import org.nd4j.autodiff.samediff.serde.FlatBuffersMapper;
import org.nd4j.graph.FlatArray;
import org.nd4j.graph.FlatGraph;
import org.nd4j.graph.FlatNode;
import org.nd4j.graph.FlatProperties;
import org.nd4j.graph.FlatVariable;
import org.nd4j.graph.UpdaterState;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.shape.options.ArrayOptionsHelper;
import org.nd4j.linalg.api.shape.options.ArrayType;

/**
 * A model's {@code graph.fb} checked before SameDiff reads it. SameDiff's FlatBuffers reader (M2.1) trusts every
 * length it finds: it allocates an array of a vector's length before reading the elements, a dense array of an
 * ndarray's shape before copying its bytes, nested arrays of a property's shape; so one damaged length (a single
 * flipped byte) asks for gigabytes and ends in an {@link OutOfMemoryError}. This walk reads every length SameDiff's
 * reader reads, in the same tables, and refuses the buffer (an {@link IllegalStateException} saying what is wrong)
 * unless:
 * <ul>
 * <li>every vector lies within the buffer: vectors of scalars exactly; vectors of strings and tables, whose elements
 * are 4-byte offsets, hold at most a quarter of the buffer's bytes;</li>
 * <li>every ndarray's shape information is whole (a rank of 0 to {@value #MAX_RANK}, and the {@code 2 rank + 4}
 * values that follow), describes a dense array (the strides of its 'c' or 'f' order; the flags of its data type),
 * and its data holds exactly the elements of its shape (numeric types);</li>
 * <li>a property's shape has at most 3 sizes, none negative, whose product is at most the buffer's length;</li>
 * <li>everything the reader allocates from it (vectors, strings at two bytes a character, arrays' data and shapes,
 * properties' nested arrays) adds up to at most {@value #MAX_EXPANSION} times the buffer's length: a buffer laid out
 * as a tree, as SameDiff writes one, adds up to about its length (the test CNN's: less than 1.5 times,
 * {@code ModelFileHardeningTest}); only lengths that point many times at the same bytes exceed it.</li>
 * </ul>
 * Offsets out of the buffer need no check here: FlatBuffers' accessors throw on them.
 */
final class GraphBufferCheck {

    /** The highest rank an ndarray may have (ND4J's own limit). */
    static final int MAX_RANK = 32;
    /** The most bytes the reader may allocate, as a multiple of the buffer's length. */
    static final int MAX_EXPANSION = 4;

    private final int capacity;
    private final long budget;
    private long claimed;

    private GraphBufferCheck(ByteBuffer buffer) {
        this.capacity = buffer.capacity();
        this.budget = (long) MAX_EXPANSION * capacity;
    }

    /**
     * Checks the FlatBuffers graph in {@code buffer} (its position and limit unchanged); returns the bytes the reader
     * will allocate from it, as counted here.
     */
    static long check(ByteBuffer buffer) {
        GraphBufferCheck check = new GraphBufferCheck(buffer);
        check.graph(FlatGraph.getRootAsFlatGraph(buffer.duplicate()));
        return check.claimed;
    }

    private void graph(FlatGraph g) {
        for (int i = 0, n = tables(g.variablesLength(), "variables"); i < n; i++) {
            variable(g.variables(i), "variable " + i);
        }
        for (int i = 0, n = tables(g.nodesLength(), "ops"); i < n; i++) {
            node(g.nodes(i), "op " + i);
        }
        tables(g.outputsLength(), "outputs");
        strings(g.placeholdersLength(), g::placeholders, "placeholders");
        strings(g.lossVariablesLength(), g::lossVariables, "loss variables");
        string(g.trainingConfigAsByteBuffer());
        for (int i = 0, n = tables(g.updaterStateLength(), "updater state"); i < n; i++) {
            UpdaterState u = g.updaterState(i);
            string(u.paramNameAsByteBuffer());
            strings(u.updaterStateKeysLength(), u::updaterStateKeys, "updater state " + i + " keys");
            for (int j = 0, m = tables(u.updaterStateValuesLength(), "updater state " + i); j < m; j++) {
                array(u.updaterStateValues(j), "updater state " + i + " value " + j);
            }
        }
    }

    private void variable(FlatVariable v, String what) {
        string(v.nameAsByteBuffer());
        scalars(v.shapeAsByteBuffer(), v.shapeLength(), Long.BYTES, what + " shape");
        if (v.shapeLength() > MAX_RANK) {
            throw damaged(what + " has rank " + v.shapeLength() + " (at most " + MAX_RANK + ")");
        }
        FlatArray array = v.ndarray();
        if (array != null) {
            array(array, what + " (" + v.name() + ")");
        }
        strings(v.controlDepsLength(), v::controlDeps, what + " control dependencies");
        strings(v.controlDepForOpLength(), v::controlDepForOp, what + " control dependencies");
        strings(v.controlDepsForVarLength(), v::controlDepsForVar, what + " control dependencies");
    }

    private void node(FlatNode n, String what) {
        string(n.nameAsByteBuffer());
        string(n.opNameAsByteBuffer());
        for (int i = 0, count = tables(n.propertiesLength(), what + " properties"); i < count; i++) {
            property(n.properties(i), what + " property " + i);
        }
        scalars(n.inputAsByteBuffer(), n.inputLength(), Integer.BYTES, what + " inputs");
        tables(n.inputPairedLength(), what + " inputs");
        scalars(n.outputAsByteBuffer(), n.outputLength(), Integer.BYTES, what + " outputs");
        scalars(n.extraParamsAsByteBuffer(), n.extraParamsLength(), Double.BYTES, what + " arguments");
        scalars(n.extraIntegerAsByteBuffer(), n.extraIntegerLength(), Long.BYTES, what + " arguments");
        scalars(n.extraBoolsAsByteBuffer(), n.extraBoolsLength(), 1, what + " arguments");
        scalars(n.dimensionsAsByteBuffer(), n.dimensionsLength(), Integer.BYTES, what + " dimensions");
        scalars(n.outputTypesAsByteBuffer(), n.outputTypesLength(), 1, what + " output types");
        scalars(n.extraTypesAsByteBuffer(), n.extraTypesLength(), 1, what + " arguments");
        strings(n.outputNamesLength(), n::outputNames, what + " output names");
        strings(n.controlDepsLength(), n::controlDeps, what + " control dependencies");
        strings(n.varControlDepsLength(), n::varControlDeps, what + " control dependencies");
        strings(n.controlDepForLength(), n::controlDepFor, what + " control dependencies");
        strings(n.extraStringsLength(), n::extraStrings, what + " arguments");
        FlatArray scalar = n.scalar();
        if (scalar != null) {
            array(scalar, what + " scalar");
        }
    }

    private void property(FlatProperties p, String what) {
        string(p.nameAsByteBuffer());
        scalars(p.iAsByteBuffer(), p.iLength(), Integer.BYTES, what);
        scalars(p.lAsByteBuffer(), p.lLength(), Long.BYTES, what);
        scalars(p.dAsByteBuffer(), p.dLength(), Double.BYTES, what);
        scalars(p.bAsByteBuffer(), p.bLength(), 1, what);
        strings(p.sLength(), p::s, what);
        for (int i = 0, n = tables(p.aLength(), what); i < n; i++) {
            array(p.a(i), what + " array " + i);
        }
        int rank = scalars(p.shapeAsByteBuffer(), p.shapeLength(), Integer.BYTES, what + " shape");
        if (rank > 3) {
            throw damaged(what + " has a shape of rank " + rank + " (at most 3)");
        }
        long elements = 1;
        long arrays = 1;
        for (int i = 0; i < rank; i++) {
            int size = p.shape(i);
            if (size < 0) {
                throw damaged(what + " has a shape of size " + size);
            }
            elements = Math.multiplyExact(elements, (long) size);
            if (elements > capacity) {
                throw damaged(what + " has a shape of more than " + capacity + " elements");
            }
            arrays += i < rank - 1 ? elements : 0;
        }
        claim(rank > 1 ? 16 * arrays + 8 * elements : 0, what);
    }

    private void array(FlatArray a, String what) {
        int infoLength = scalars(a.shapeAsByteBuffer(), a.shapeLength(), Long.BYTES, what + " shape");
        long rank = infoLength == 0 ? -1 : a.shape(0);
        if (rank < 0 || rank > MAX_RANK || infoLength < 2 * rank + 4) {
            throw damaged(what + " has shape information of rank " + rank + " in " + infoLength + " values");
        }
        int r = (int) rank;
        long elements = 1;
        long[] shape = new long[r];
        for (int i = 0; i < r; i++) {
            shape[i] = a.shape(1 + i);
            if (shape[i] < 0 || shape[i] > capacity) {
                throw damaged(what + " has size " + shape[i] + " in its shape");
            }
            elements *= shape[i]; // at most capacity^2: no overflow
            if (elements > capacity) {
                throw damaged(what + " has a shape of more than " + capacity + " elements");
            }
        }
        claim((2 * rank + 4) * Long.BYTES, what);
        // The reader builds the array over its data with these strides and order: strides reaching past the data
        // make native code read and write outside it (a JVM crash).
        long order = a.shape(2 * r + 3);
        if (order != 'c' && order != 'f') {
            throw damaged(what + " has the order " + order + " (99 'c' or 102 'f')");
        }
        if (elements > 0) {
            long stride = 1;
            for (int k = 0; k < r; k++) {
                int i = order == 'c' ? r - 1 - k : k;
                long given = a.shape(1 + r + i);
                // ND4J gives an axis of size 1, never stepped along, the stride 1 or the dense one.
                if (given != stride && !(shape[i] == 1 && given == 1)) {
                    throw damaged(what + " has the stride " + given + " along axis " + i + " of its"
                            + " shape " + Arrays.toString(shape) + " ('" + (char) order + "' order: "
                            + stride + ")");
                }
                stride *= shape[i];
            }
        }
        DataType type = FlatBuffersMapper.getDataTypeFromByte(a.dtype());
        long extras = a.shape(2 * r + 1);
        long plain = ArrayOptionsHelper.setOptionBit(0L, type);
        if (extras != plain && !(elements == 0 && extras == ArrayOptionsHelper.setOptionBit(plain, ArrayType.EMPTY))) {
            throw damaged(what + " has the flags " + extras + " for " + type + " (" + plain + ")");
        }
        int bytes = scalars(a.bufferAsByteBuffer(), a.bufferLength(), 1, what + " data");
        if (type.isNumerical() || type == DataType.BOOL) {
            long expected = Math.multiplyExact(elements, (long) type.width());
            if (bytes != expected) {
                throw damaged(what + " has the shape " + Arrays.toString(shape) + " of " + type + " (" + expected
                        + " bytes) but " + bytes + " bytes of data");
            }
        }
    }

    /** Checks a vector of scalars ({@code bytes} as its accessor gives it: null when absent); returns its length. */
    private int scalars(ByteBuffer bytes, int length, int elementSize, String what) {
        // The accessor limits the view to the vector's claimed end, and throws when that is past the buffer.
        if (length < 0 || (bytes != null && bytes.remaining() != (long) length * elementSize)) {
            throw damaged(what + " has " + length + " elements of " + elementSize + " bytes, beyond the buffer");
        }
        claim((long) length * elementSize, what);
        return length;
    }

    /** Checks a vector of tables (4-byte offsets); returns its length. */
    private int tables(int length, String what) {
        if (length < 0 || length > capacity / Integer.BYTES) {
            throw damaged(what + ": " + length + " entries in a buffer of " + capacity + " bytes");
        }
        claim((long) length * Integer.BYTES, what);
        return length;
    }

    /** Checks a vector of strings and each string of it. */
    private void strings(int length, IntFunction<String> element, String what) {
        for (int i = 0, n = tables(length, what); i < n; i++) {
            String s = element.apply(i);
            claim(s == null ? 0 : 2L * s.length(), what);
        }
    }

    private void string(ByteBuffer bytes) {
        claim(bytes == null ? 0 : 2L * bytes.remaining(), "a name");
    }

    private void claim(long bytes, String what) {
        claimed += bytes;
        if (claimed > budget) {
            throw damaged("its sizes add up to more than " + MAX_EXPANSION + " times its " + capacity
                    + " bytes (at " + what + ")");
        }
    }

    private static IllegalStateException damaged(String problem) {
        return new IllegalStateException(problem);
    }
}
