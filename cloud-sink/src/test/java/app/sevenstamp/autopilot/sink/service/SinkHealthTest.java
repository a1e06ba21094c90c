package app.sevenstamp.autopilot.sink.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.support.HealthCheck;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sink's watchdog probes on a real H2 store, with the monotonic clock passed in. */
class SinkHealthTest {
    @TempDir
    Path dir;

    @Test
    void healthyUntilTheBrokerOutageOutlastsTheGraceThenHealthyAgainOnReconnect() {
        AtomicBoolean connected = new AtomicBoolean(true);
        AtomicLong now = new AtomicLong(1_000);
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            HealthCheck health = SinkHealth.of(() -> true, () -> true, store::connection, connected::get, Duration.ofMinutes(5), now::get);
            assertEquals(java.util.List.of("ingest", "redeem", "store", "broker"), health.names());
            assertEquals(Optional.empty(), health.firstProblem());

            connected.set(false);
            assertEquals(Optional.empty(), health.firstProblem(), "reconnecting: fine for a while");
            now.addAndGet(Duration.ofSeconds(299).toNanos());
            assertEquals(Optional.empty(), health.firstProblem());
            now.addAndGet(Duration.ofSeconds(1).toNanos());
            assertEquals(Optional.of("broker: not connected to the broker for 300 s (reconnecting is allowed for 300 s)"),
                    health.firstProblem());

            connected.set(true);
            assertEquals(Optional.empty(), health.firstProblem());
            connected.set(false);
            now.addAndGet(Duration.ofSeconds(10).toNanos());
            assertEquals(Optional.empty(), health.firstProblem(), "a new outage starts its own grace");
        }
    }

    @Test
    void aDeadIngestOrRedeemThreadOrAnUnreachableStoreIsAProblem() {
        AtomicBoolean ingestAlive = new AtomicBoolean(true);
        SinkStore store = SinkStore.open(dir.resolve("sink"));
        AtomicBoolean redeemAlive = new AtomicBoolean(true);
        HealthCheck health = SinkHealth.of(ingestAlive::get, redeemAlive::get, store::connection, () -> true,
                Duration.ofMinutes(5), System::nanoTime);
        assertEquals(Optional.empty(), health.firstProblem());
        ingestAlive.set(false);
        assertEquals(Optional.of("ingest: an ingest thread (ingest or ingest-check) has ended"), health.firstProblem());
        ingestAlive.set(true);
        redeemAlive.set(false);
        assertEquals(Optional.of("redeem: the voucher redeem thread has ended"), health.firstProblem());
        redeemAlive.set(true);
        store.close();
        String problem = health.firstProblem().orElseThrow();
        assertEquals(true, problem.startsWith("store: cannot reach the database: "), problem);
    }
}
