package app.sevenstamp.autopilot.gateway.scan;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * How the scanner's bytes become text ({@code scanner.charset}). Card codes are ASCII, where both
 * agree; the choice only changes how other barcodes look in the reject log.
 */
public enum ScanCharset {
    UTF_8(StandardCharsets.UTF_8),
    ISO_8859_1(StandardCharsets.ISO_8859_1);

    private final Charset charset;

    ScanCharset(Charset charset) {
        this.charset = charset;
    }

    public Charset charset() {
        return charset;
    }
}
