package app.sevenstamp.autopilot.sink.service;

import app.sevenstamp.autopilot.protocol.support.HealthCheck;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The sink's health for systemd's watchdog ({@link app.sevenstamp.autopilot.protocol.support.Watchdog}):
 * the ingest and voucher redeem threads run, the store answers, and the ingest is connected to the broker or has been
 * reconnecting for less than {@code brokerGrace}. A broker outage alone is not a reason to restart at
 * once (Paho reconnects by itself); one that outlasts the grace may be a client stuck in a state only a
 * restart clears, and the restart is cheap and rate-limited by the unit.
 *
 * <p>Threading: the probes run on the watchdog thread only, which also owns the outage clock.
 */
public final class SinkHealth {
    /** How long the ingest may be reconnecting before the watchdog stops being fed. */
    public static final Duration BROKER_GRACE = Duration.ofMinutes(5);
    /** Store: the connection and its statement each wait at most this long. */
    static final int STORE_VALID_SECONDS = 5;

    /** Opens a pooled connection; the probe closes it. */
    @FunctionalInterface
    public interface Connections {
        Connection get() throws SQLException;
    }

    private SinkHealth() {
    }

    /**
     * @param nanoTime a monotonic clock ({@code System::nanoTime} in production)
     */
    public static HealthCheck of(BooleanSupplier ingestAlive, BooleanSupplier redeemAlive, Connections store,
            BooleanSupplier brokerConnected, Duration brokerGrace, LongSupplier nanoTime) {
        BrokerOutage outage = new BrokerOutage(brokerConnected, brokerGrace, nanoTime);
        return new HealthCheck(List.of(
                new HealthCheck.Probe("ingest", () -> ingestAlive.getAsBoolean() ? null
                        : "an ingest thread (ingest or ingest-check) has ended"),
                // without it boxes get no answers and every redemption times out, while stamps still flow
                new HealthCheck.Probe("redeem", () -> redeemAlive.getAsBoolean() ? null
                        : "the voucher redeem thread has ended"),
                new HealthCheck.Probe("store", () -> storeProblem(store)),
                new HealthCheck.Probe("broker", outage::problem)));
    }

    /**
     * JDBC's {@code isValid}, bounded by the driver's socket timeout on PostgreSQL, and then a statement: H2 closes
     * its database after a write it could not make (a full disk) and keeps it closed, every statement failing, while
     * {@code isValid} still answers true (SinkFullDiskIT). Only a restart opens the store again.
     */
    private static String storeProblem(Connections store) {
        try (Connection c = store.get(); Statement st = c.createStatement()) {
            if (!c.isValid(STORE_VALID_SECONDS)) {
                return "the database did not answer within " + STORE_VALID_SECONDS + " s";
            }
            st.setQueryTimeout(STORE_VALID_SECONDS);
            try (ResultSet rs = st.executeQuery("SELECT 1")) {
                return rs.next() ? null : "the database answered no row to SELECT 1";
            }
        } catch (SQLTimeoutException e) {
            return "the database did not answer within " + STORE_VALID_SECONDS + " s";
        } catch (SQLException | RuntimeException e) {
            return "cannot reach the database: " + SinkStore.reason(e);
        }
    }

    /** How long the broker connection has been down, measured from the first probe that saw it down. */
    private static final class BrokerOutage {
        private final BooleanSupplier connected;
        private final Duration grace;
        private final LongSupplier nanoTime;
        private long downSince;
        private boolean down;

        BrokerOutage(BooleanSupplier connected, Duration grace, LongSupplier nanoTime) {
            this.connected = connected;
            this.grace = grace;
            this.nanoTime = nanoTime;
        }

        String problem() {
            long now = nanoTime.getAsLong();
            if (connected.getAsBoolean()) {
                down = false;
                return null;
            }
            if (!down) {
                down = true;
                downSince = now;
            }
            Duration lasting = Duration.ofNanos(now - downSince);
            return lasting.compareTo(grace) < 0 ? null : "not connected to the broker for " + lasting.toSeconds()
                    + " s (reconnecting is allowed for " + grace.toSeconds() + " s)";
        }
    }
}
