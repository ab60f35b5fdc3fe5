package org.quant4j.range.pdf;

/**
 * A distribution, symmetric about 0 here, whose clipping moment {@code C(a) = integral_a^inf (x - a)^2 p(x) dx}
 * has a closed form; {@link org.quant4j.range.pdf.ClipError} uses it instead of quadrature.
 */
public interface ClosedFormClipping {

    /** {@code C(a)} for {@code a >= 0}, about the distribution's location. */
    double clippingMoment(double a);
}
