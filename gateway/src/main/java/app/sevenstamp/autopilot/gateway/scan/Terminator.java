package app.sevenstamp.autopilot.gateway.scan;

/**
 * What the scanner sends after each barcode. Configured as {@code scanner.terminator}: {@code cr}
 * (the factory default of most USB-serial scanners), {@code lf}, {@code crlf} or {@code tab}.
 */
public enum Terminator {
    CR,
    LF,
    CRLF,
    TAB
}
