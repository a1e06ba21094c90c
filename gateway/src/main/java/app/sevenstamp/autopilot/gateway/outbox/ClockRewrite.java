package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.tinylog.Logger;

/**
 * Rewrites the wall time of rows stored while the clock was not synchronised, once it is:
 * {@code wall = wallNow - (monoNow - monoThen)} ({@link ClockCorrection}), in H2 and in the redo log.
 * Outbox thread only.
 */
final class ClockRewrite {
    private ClockRewrite() {
    }

    /**
     * Corrects up to {@code max} rows of boot {@code bootId}; the redo records are synced before H2
     * commits. Returns how many it corrected. The caller rolls back on an exception.
     */
    static int correct(Connection connection, RedoLog redo, WireCodec codec, String bootId, Instant wallNow,
            long monoNow, int max) throws SQLException, IOException {
        int n = 0;
        try (PreparedStatement select = connection.prepareStatement("SELECT seq, payload, mono_nanos FROM outbox "
                + "WHERE boot_id = ? AND clock_synced = FALSE ORDER BY seq LIMIT ?");
             PreparedStatement update = connection.prepareStatement(
                     "UPDATE outbox SET payload = ?, clock_synced = TRUE WHERE seq = ?")) {
            select.setString(1, bootId);
            select.setInt(2, max);
            List<Object[]> rows = new ArrayList<>();
            List<byte[]> redoLines = new ArrayList<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Object[] {rs.getLong(1), rs.getBytes(2), rs.getLong(3)});
                }
            }
            for (Object[] row : rows) {
                long seq = (Long) row[0];
                StampEvent before;
                try {
                    before = codec.decodeStampEvent((byte[]) row[1]);
                } catch (MalformedMessageException e) {
                    // cannot happen for what the outbox wrote; leave the row as it is, flagged by the column
                    Logger.warn("outbox row seq={} cannot be decoded for clock correction: {}", seq, e.getMessage());
                    update.setBytes(1, (byte[]) row[1]);
                    update.setLong(2, seq);
                    update.executeUpdate();
                    continue;
                }
                Instant corrected = wallNow.minusNanos(monoNow - (Long) row[2]);
                StampEvent after = ClockCorrection.corrected(before, corrected);
                byte[] payload = codec.encode(after);
                update.setBytes(1, payload);
                update.setLong(2, seq);
                update.executeUpdate();
                redoLines.add(OutboxRedo.corrected(before.eventId(), payload));
                n++;
            }
            // synced: after a restart the old boot's monotonic clock is gone, a lost correction could not be redone
            redo.append(redoLines, true);
            connection.commit();
            return n;
        }
    }
}
