package app.sevenstamp.autopilot.gateway.scan;

/**
 * Told when a scanner is open and when it goes away; called on the scanner's reader thread, must not
 * block. A source reports {@link #scannerLost} once per loss, not once per failed reopen.
 */
public interface ScannerListener {

    /** @param device the device now open (after a reopen it may be another ttyACM behind the same by-id name) */
    void scannerReady(String device);

    void scannerLost(String reason);
}
