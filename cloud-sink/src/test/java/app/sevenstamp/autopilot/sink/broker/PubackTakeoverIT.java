package app.sevenstamp.autopilot.sink.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.RawMqtt;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import app.sevenstamp.autopilot.sink.testing.WatchedClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * A stranger with the public provisioning login ends Moquette 0.17 session loops on purpose: it asks
 * for a provisioning answer (the sink refuses a bad request with a QoS 1 answer), takes over its own
 * {@code prov-} client id from a second connection, and acknowledges the answer on the first at the
 * same moment. A PUBACK that reaches the purged session releases the message's buffer twice and the
 * loop's thread ends. Repeated until that happened three times (or two minutes passed; at least once):
 * each dead loop gets a new thread, the broker never restarts, another provisioning client connected
 * throughout keeps its connection, and the sink still answers it.
 */
@Execution(ExecutionMode.CONCURRENT) // seconds of broker round trips: runs beside the other ITs (pom.xml, failsafe)
class PubackTakeoverIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final int DEATHS = 3;
    /** The race ended a loop within 8 to 48 tries (3-15 s) here; a loaded machine may need longer, never this long. */
    private static final long PATIENCE_NANOS = 120_000_000_000L;
    /** Five messages a try: paced to stay within the public login's budget of twenty a second (MoquetteGuard). */
    private static final long PACE_MILLIS = 300;

    @TempDir
    Path dir;

    @Test
    void theTakeoverRaceCostsNobodyTheirConnection() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).set("fleet.provisioning", "true").start()) {
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            assertTrue(sink.fleet().awaitReady(Duration.ofSeconds(20)), "the fleet service subscribed to requests");
            WatchedClient victim = WatchedClient.connect(sink.brokerUrl(), "prov-victim-0123456789", "provision", "provision");
            victim.client().subscribe(TOPICS.provisionResponse("victimnonce012345678"), 1);

            String nonce = "strangernonce0123456";
            int attempts = 0;
            long t0 = System.nanoTime();
            while (broker.loopFailures() < DEATHS && System.nanoTime() - t0 < PATIENCE_NANOS) {
                try {
                    race(sink.brokerUrl(), "prov-stranger-" + attempts, nonce, attempts % 5);
                } catch (java.io.IOException e) {
                    Thread.sleep(1_000); // over the public login's budget (MoquetteGuard): cut; it refills
                }
                attempts++;
                Thread.sleep(PACE_MILLIS);
            }
            System.out.printf("PubackTakeoverIT: %d loop deaths in %d attempts%n", broker.loopFailures(), attempts);
            assertTrue(broker.loopFailures() >= 1, "the race ended no loop in " + attempts
                    + " attempts; the test did not reproduce the attack");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> broker.revivals() >= broker.loopFailures());

            victim.client().publish(TOPICS.provisionRequest("victimnonce012345678"), request("a-different-nonce-0123"), 1, false);
            assertNotNull(victim.arrived().poll(20, TimeUnit.SECONDS), "the sink answered a provisioning request after the attack");
            assertEquals(0, broker.restarts(), "broker restarts");
            assertEquals(0, victim.lost().get(), "the client connected throughout lost its connection");
            victim.close();
        }
    }

    /** One try: an answer held unacknowledged, a takeover of the same client id, the PUBACK sent meanwhile. */
    private static void race(String url, String clientId, String nonce, int pauseMillis) throws Exception {
        try (RawMqtt first = RawMqtt.connect(url, clientId, "provision", "provision")) {
            first.subscribe(TOPICS.provisionResponse(nonce), 1, 1);
            assertEquals(RawMqtt.SUBACK, first.read().type(), "SUBACK");
            // a request naming another nonce: refused, with an answer at QoS 1
            first.publish(TOPICS.provisionRequest(nonce), request("a-different-nonce-0123"));
            RawMqtt.Packet answer = first.read();
            assertEquals(RawMqtt.PUBLISH, answer.type(), "the sink's answer");
            try (RawMqtt second = RawMqtt.begin(url, clientId, "provision", "provision")) {
                Thread.sleep(pauseMillis); // 0-4 ms: each try lands the PUBACK at another point of the takeover
                first.puback(answer.publishId());
                second.awaitConnack();
            }
        }
    }

    private static byte[] request(String nonce) {
        return new WireCodec().encode(new ProvisionRequest(WireCodec.SCHEMA, nonce, "clm_nothing", "hw-stranger", "AAAA",
                "0.1", null, null));
    }
}
