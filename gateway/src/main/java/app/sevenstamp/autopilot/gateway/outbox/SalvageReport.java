package app.sevenstamp.autopilot.gateway.outbox;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What happened when the outbox could not be opened at start: where the unreadable file was moved
 * (it is never deleted) and how many events could be read from it and were queued again.
 *
 * @param movedTo   the corrupt file under its new name, kept for an operator or a later recovery
 * @param salvaged  events read back and stored again, sent as usual
 * @param nextSeq   the sequence number the fresh store continues with
 * @param problem   why the file could not be opened
 */
public record SalvageReport(Path movedTo, int salvaged, long nextSeq, String problem) {
    public SalvageReport {
        Objects.requireNonNull(movedTo, "movedTo");
        Objects.requireNonNull(problem, "problem");
    }
}
