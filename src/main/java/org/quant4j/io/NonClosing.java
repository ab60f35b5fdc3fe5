package org.quant4j.io;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Views of a caller's stream that a reader or writer may close (a {@code ZipOutputStream}, a {@code
 * ZipInputStream}, ending its own native resources) without closing the caller's stream: closing the output view
 * flushes it, closing the input view does nothing.
 */
public final class NonClosing {

    private NonClosing() {
    }

    /** {@code out}, whose {@code close()} flushes it and leaves it open. */
    public static OutputStream output(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
    }

    /** {@code in}, whose {@code close()} leaves it open. */
    public static InputStream input(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public void close() {
            }
        };
    }
}
