package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.testing.PostgresCluster;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/**
 * Two sink processes behind one Mosquitto with a {@code $share} subscription, on one PostgreSQL;
 * gateways that resend what was not acknowledged (as the real gateway's outbox does); one sink
 * killed with SIGKILL mid-stream. At the end every event is acknowledged to its own device and
 * counted exactly once.
 */
class ScaleOutIT {
    private static final int DEVICES = 4;
    private static final int PER_DEVICE = 150;
    private static final int CARDS = 6;
    private static final int STAMPS_REQUIRED = 7;

    @TempDir
    Path dir;
    private final List<SinkProcess> sinks = new ArrayList<>();
    private final List<StandInGateway> gateways = new ArrayList<>();
    private MosquittoProcess broker;

    @AfterEach
    void stop() throws Exception {
        for (StandInGateway g : gateways) {
            g.close();
        }
        for (SinkProcess p : sinks) {
            p.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    private SinkProcess sink(String name, String pgUrl, Path key) throws Exception {
        SinkProcess p = SinkProcess.start(dir, name, broker.url(), pgUrl, key, STAMPS_REQUIRED);
        sinks.add(p);
        return p;
    }

    @Test
    void twoSinksShareTheEventsAndOneKilledMidStreamLosesAndDoublesNothing() throws Exception {
        run(null);
    }

    /**
     * The same with a broker that lets each sink have 1000 events in flight, so that a sink's
     * batches hold up to {@code IngestService.BATCH} events each (with Mosquitto's default of 20,
     * they hold 20 at most): the kill lands in the middle of big batches, whose events are neither
     * half-applied nor lost.
     */
    @Test
    void aSinkKilledDuringLargeBatchesLosesAndDoublesNothing() throws Exception {
        run("allow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 100000\n");
    }

    private void run(String brokerConfig) throws Exception {
        broker = brokerConfig == null ? MosquittoProcess.start(dir.resolve("mosquitto"))
                : MosquittoProcess.start(dir.resolve("mosquitto"), brokerConfig);
        String pgUrl = PostgresCluster.shared().newDatabase();
        Path key = dir.resolve("signing.key");
        Files.writeString(key, "keyId=k1\nseed=" + Vectors.json("card-codes.json").get("seed").asText() + "\n",
                StandardCharsets.UTF_8);
        SinkProcess a = sink("a", pgUrl, key);
        SinkProcess b = sink("b", pgUrl, key);

        CardSigner signer = Vectors.signer();
        SecureRandom random = new SecureRandom();
        List<String> cards = new ArrayList<>();
        for (int i = 0; i < CARDS; i++) {
            cards.add(signer.sign("coffee", CardSigner.newCardId(random)));
        }
        for (int d = 0; d < DEVICES; d++) {
            gateways.add(new StandInGateway(broker.url(), "counter-" + d));
        }
        int total = DEVICES * PER_DEVICE;
        Instant t0 = Instant.parse("2026-11-23T08:00:00Z");
        int n = 0;
        for (int i = 1; i <= PER_DEVICE; i++) {
            for (StandInGateway g : gateways) {
                String code = cards.get(n % CARDS);
                String[] parts = code.split("\\.");
                g.publish(new StampEvent(WireCodec.SCHEMA, TestIds.event(g.device + "-" + i), g.device, i, code, parts[2], parts[3],
                        "shop-1", t0.plusMillis(n), i, "boot", true, EventKind.STAMP));
                n++;
            }
            if (i == PER_DEVICE / 3) {
                // Mid-stream: once sink a has applied some, kill it like a crash would.
                await().atMost(Duration.ofSeconds(30)).until(() -> a.accepted() > 0);
                long before = a.accepted();
                a.kill();
                Logger.info("killed sink a after it had accepted {} events", before);
            }
        }
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(2)).until(() -> {
            int resent = 0;
            for (StandInGateway g : gateways) {
                resent += g.resendUnanswered();
            }
            if (resent > 0) {
                Logger.info("gateways resent {} unanswered events", resent);
            }
            return resent == 0;
        });

        ClusterTraffic.assertCountedOnce(pgUrl, gateways, total);
        long byB = b.accepted();
        Logger.info("sink b accepted {} of {} events; sink a the rest before it was killed", byB, total);
        assertTrue(byB > 0 && byB < total, "both instances took part: b accepted " + byB + " of " + total);
    }
}
