package app.sevenstamp.autopilot.gateway.scan;

/** Told when a scanner goes away and when it is back; called on the scanner's reader thread, must not block. */
public interface ScannerListener {

    void scannerLost(String reason);

    void scannerReady();
}
