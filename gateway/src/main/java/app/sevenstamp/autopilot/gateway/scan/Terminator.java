package app.sevenstamp.autopilot.gateway.scan;

/**
 * What the scanner sends after each barcode. Configured as {@code scanner.terminator}: {@code cr}
 * (the factory default of most USB-serial scanners), {@code lf}, {@code crlf}, {@code tab}, or
 * {@code none}: the scanner sends no suffix, and a pause of {@code scanner.interCharTimeout} ends the
 * scan (serial only; a keyboard-mode scanner always ends with Enter or Tab).
 */
public enum Terminator {
    CR,
    LF,
    CRLF,
    TAB,
    NONE
}
