package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;

import app.sevenstamp.autopilot.sink.testing.ArtemisCluster;
import app.sevenstamp.autopilot.sink.testing.PostgresCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/**
 * A broker node lost in the middle of the stamps on a two-node Apache ActiveMQ Artemis cluster (the setup of
 * {@link ClusteredBrokerIT}, its own class to keep each under 90 s).
 */
class ClusterNodeLossIT {
    @TempDir
    static Path clusterDir;
    @TempDir
    Path dir;
    private static ArtemisCluster cluster;
    private static PostgresCluster replica;

    @BeforeAll
    static void startCluster() throws Exception {
        long t0 = System.nanoTime();
        // PostgreSQL and its replica start while the two brokers do: both mostly wait on their own processes.
        CompletableFuture<PostgresCluster> standby = CompletableFuture.supplyAsync(() -> PostgresCluster.shared().startReplica());
        try {
            cluster = ArtemisCluster.start(clusterDir, 2, "");
        } finally {
            replica = standby.get(90, TimeUnit.SECONDS);
        }
        Logger.info("two Artemis nodes, PostgreSQL and its replica up in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
        if (replica != null) {
            replica.destroy();
        }
    }

    /**
     * Node 1 dies (SIGKILL) a third of the way in: its boxes move to node 0 (what a name or load balancer in
     * front of the cluster would do), its sink has no broker until the node returns. Whatever node 1 held
     * (stamps forwarded to its share queue, answers for its boxes) is resent by the boxes; when node 1 comes
     * back with its journal, nothing it still held is counted twice. The PostgreSQL the sinks write to streams to a
     * hot standby, which then holds the same stamps, each once.
     */
    @Test
    void aBrokerNodeLostMidStreamLosesAndDoublesNothing() throws Exception {
        String pgUrl = ClusterTraffic.run(cluster, dir, (a, b, gateways) -> {
            cluster.kill(1);
            for (StandInGateway g : gateways) {
                if (g.url().equals(cluster.mqttUrl(1))) {
                    g.moveTo(cluster.mqttUrl(0));
                }
            }
            return "node 1 killed, its boxes moved to node 0";
        });
        // The sinks write to the primary only; its streaming replica holds the same stamps, each once.
        String onReplica = replica.url(pgUrl.substring(pgUrl.lastIndexOf('/') + 1));
        long t0 = System.nanoTime();
        int total = ClusterTraffic.DEVICES * ClusterTraffic.PER_DEVICE;
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> ClusterTraffic.assertStoredOnce(onReplica, total));
        Logger.info("replica: the {} stamps there, each once, {} ms after the last check on the primary", total,
                (System.nanoTime() - t0) / 1_000_000);
    }
}
