package app.sevenstamp.autopilot.sink;

import app.sevenstamp.autopilot.sink.testing.ArtemisCluster;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @BeforeAll
    static void startCluster() {
        cluster = ArtemisCluster.start(clusterDir, 2, "");
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * Node 1 dies (SIGKILL) a third of the way in: its boxes move to node 0 (what a name or load balancer in
     * front of the cluster would do), its sink has no broker until the node returns. Whatever node 1 held
     * (stamps forwarded to its share queue, answers for its boxes) is resent by the boxes; when node 1 comes
     * back with its journal, nothing it still held is counted twice.
     */
    @Test
    void aBrokerNodeLostMidStreamLosesAndDoublesNothing() throws Exception {
        ClusterTraffic.run(cluster, dir, (a, b, gateways) -> {
            cluster.kill(1);
            for (StandInGateway g : gateways) {
                if (g.url().equals(cluster.mqttUrl(1))) {
                    g.moveTo(cluster.mqttUrl(0));
                }
            }
            return "node 1 killed, its boxes moved to node 0";
        });
    }
}
