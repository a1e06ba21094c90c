package app.sevenstamp.autopilot.sink.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** The small JDBC helpers the row groups of the store ({@link CardRows}, {@link EventRows}, {@link DeviceRows}) share. */
final class Rows {
    private Rows() {}

    static String marks(int n) {
        return String.join(", ", java.util.Collections.nCopies(n, "?"));
    }

    /** H2 reports a failed batch row as the next exception of a BatchUpdateException. */
    static boolean isDuplicateKey(SQLException ex) {
        for (SQLException e = ex; e != null; e = e.getNextException()) {
            if (SinkStore.DUPLICATE_KEY.equals(e.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    static OffsetDateTime utc(Instant at) {
        return at == null ? null : at.atOffset(ZoneOffset.UTC);
    }

    static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    static String clip(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }
}
