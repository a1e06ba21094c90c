package app.sevenstamp.autopilot.sink.testing;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Makes the real database refuse to store events whose id starts with {@value #PREFIX}: a trigger
 * on {@code events} that raises an error, on H2 (a Java trigger, {@link H2Trigger}) and on
 * PostgreSQL (PL/pgSQL). A stand-in for an event that cannot be written for a reason of its own (a
 * value the schema refuses, a bug), so that a test can check that such an event does not take its
 * batch down with it.
 */
public final class PoisonEvents {
    /** Event ids are lowercase UUIDs on the wire: a poison id is one that starts with these hex digits. */
    public static final String PREFIX = "0000dead-";

    private PoisonEvents() {
    }

    public static void install(SinkStore store, boolean postgres) throws SQLException {
        try (Connection c = store.connection(); Statement st = c.createStatement()) {
            if (postgres) {
                st.execute("CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                        + "IF NEW.event_id LIKE '" + PREFIX + "%' THEN RAISE EXCEPTION 'poison event %', NEW.event_id; "
                        + "END IF; RETURN NEW; END $$ LANGUAGE plpgsql");
                st.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_poison()");
            } else {
                st.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON events FOR EACH ROW CALL \""
                        + H2Trigger.class.getName() + "\"");
            }
        }
    }

    /** H2 calls this for each inserted row of {@code events}; column 0 is {@code event_id}. */
    public static final class H2Trigger implements org.h2.api.Trigger {
        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) throws SQLException {
            if (newRow != null && String.valueOf(newRow[0]).startsWith(PREFIX)) {
                throw new SQLException("poison event " + newRow[0], "P0001");
            }
        }
    }
}
