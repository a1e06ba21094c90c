package app.sevenstamp.autopilot.sink.testing;

import app.sevenstamp.autopilot.protocol.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A symmetric cluster of Apache ActiveMQ Artemis brokers, each its own JVM from the binary distribution
 * that the build unpacks into {@code target/artemis} (cloud-sink/pom.xml, {@code unpack-artemis}). Every node
 * has an MQTT listener and a core listener on loopback; the nodes know each other by static connectors and
 * balance messages {@code ON_DEMAND} (only to a node with a matching consumer), with a redistribution delay
 * of 0 so that what sits on a node whose consumer left moves to a node that has one.
 *
 * <p>Security is off (the per-device ACLs are a separate question, docs/performance.md "Beyond one broker");
 * persistence is on with an unsynced NIO journal, as a test does not need power-cut safety.
 */
public final class ArtemisCluster implements AutoCloseable {
    /** Where the build unpacks the distribution (one apache-artemis-VERSION folder); a missing one fails the test. */
    public static final Path UNPACKED = Path.of("target", "artemis");

    /**
     * How long a CONNECT or SUBSCRIBE may wait for its session state (Artemis journals it for every client, clean
     * sessions too) before the broker refuses it. Artemis's default of 5 s refused most of 1,000 boxes connecting
     * at once to two nodes on 2 CPUs (scripts/fleet-sim, docs/performance.md "Beyond one broker"); a longer wait
     * alone did not help (see {@link #THREAD_POOL}), but a slow commit is no reason to turn a box away.
     */
    static final long STATE_TIMEOUT_MS = 60_000;

    /**
     * Artemis's server thread pool, unbounded. With its default of 30, 1,000 boxes connecting at once never all got
     * in: each CONNECT and SUBSCRIBE holds a pool thread while it waits for its session state's journal commit, whose
     * completion needs a pool thread too (scripts/fleet-sim, 30 of 30 busy until the state timeout).
     */
    static final int THREAD_POOL = -1;

    /**
     * A node's heap. At 256 MB both nodes ran out of memory in the fleet simulation's storm (100,000 stamps
     * buffered by 1,000 boxes); the distribution's own profile gives 2 GB.
     */
    static final String HEAP = "1g";

    private static final String ACTIVE = "AMQ221007"; // Server is now active
    private static final String BRIDGED = "AMQ221027"; // Bridge ClusterConnectionBridge ... is connected

    private final Path home;
    private final List<Node> nodes;

    private ArtemisCluster(Path home, List<Node> nodes) {
        this.home = home;
        this.nodes = nodes;
    }

    private static Path home() {
        List<Path> homes = List.of();
        if (Files.isDirectory(UNPACKED)) {
            try (Stream<Path> s = Files.list(UNPACKED)) {
                homes = s.filter(p -> Files.isRegularFile(p.resolve("lib").resolve("artemis-boot.jar"))).toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (homes.size() != 1) {
            throw new AssertionError("expected one Artemis distribution under " + UNPACKED.toAbsolutePath() + ", found " + homes
                    + ": the build unpacks org.apache.activemq:apache-artemis:tar.gz:bin there in pre-integration-test (mvn verify)");
        }
        return homes.get(0).toAbsolutePath();
    }

    /** One node of the cluster: its ports and its process. */
    private static final class Node {
        final String name;
        final Path dir;
        final int mqttPort;
        final int corePort;
        Process process;

        Node(String name, Path dir, int mqttPort, int corePort) {
            this.name = name;
            this.dir = dir;
            this.mqttPort = mqttPort;
            this.corePort = corePort;
        }

        Path log() {
            return dir.resolve("artemis.log");
        }
    }

    /**
     * Starts {@code count} nodes under {@code dir} and returns once each is active and bridged to all the
     * others. {@code extraAddressSettings} are {@code <address-setting>} elements put before the catch-all one
     * (the first match wins in Artemis by specificity, so a narrower match overrides it).
     */
    public static ArtemisCluster start(Path dir, int count, String extraAddressSettings) {
        Path home = home();
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            nodes.add(new Node("node" + i, dir.resolve("node" + i), FreePorts.pick(), FreePorts.pick()));
        }
        ArtemisCluster cluster = new ArtemisCluster(home, nodes);
        try {
            for (Node n : nodes) {
                cluster.writeInstance(n, extraAddressSettings);
            }
            cluster.start();
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /**
     * Starts every node that is not running (again, after {@link #stop}: same ports, same journal) and returns
     * once each is active and bridged to all the others.
     */
    public synchronized void start() {
        List<Node> launched = new ArrayList<>();
        List<long[]> before = new ArrayList<>();
        for (Node n : nodes) {
            if (n.process == null || !n.process.isAlive()) {
                before.add(new long[] {count(n, ACTIVE), count(n, BRIDGED)});
                launch(n);
                launched.add(n);
            }
        }
        for (int i = 0; i < launched.size(); i++) {
            awaitLog(launched.get(i), ACTIVE, before.get(i)[0] + 1, Duration.ofSeconds(40), launched);
            awaitLog(launched.get(i), BRIDGED, before.get(i)[1] + nodes.size() - 1, Duration.ofSeconds(30), launched);
        }
    }

    /** Kills one node like a crash (SIGKILL); {@link #start()} brings it back on the same ports and journal. */
    public synchronized void kill(int node) throws InterruptedException {
        Node n = nodes.get(node);
        if (n.process != null) {
            n.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            n.process = null;
        }
    }

    /** Stops every node like a crash would (SIGKILL) or like an operator would (SIGTERM). */
    public synchronized void stop(boolean kill) {
        for (Node n : nodes) {
            if (n.process != null) {
                if (kill) {
                    n.process.destroyForcibly();
                } else {
                    n.process.destroy();
                }
            }
        }
        for (Node n : nodes) {
            if (n.process == null) {
                continue;
            }
            try {
                if (!n.process.waitFor(10, TimeUnit.SECONDS)) {
                    n.process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                n.process.destroyForcibly();
            }
            n.process = null;
        }
    }

    public synchronized boolean running(int node) {
        Process p = nodes.get(node).process;
        return p != null && p.isAlive();
    }

    public int size() {
        return nodes.size();
    }

    /** The MQTT listener of node {@code node} (0-based). */
    public String mqttUrl(int node) {
        return "tcp://127.0.0.1:" + nodes.get(node).mqttPort;
    }

    /** The node's log so far (broker messages at INFO and above). */
    public String log(int node) {
        try {
            return Files.readString(nodes.get(node).log());
        } catch (IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    private void writeInstance(Node n, String extraAddressSettings) {
        StringBuilder connectors = new StringBuilder();
        StringBuilder peers = new StringBuilder();
        for (Node other : nodes) {
            connectors.append("      <connector name=\"").append(other.name).append("\">tcp://127.0.0.1:")
                    .append(other.corePort).append("</connector>\n");
            if (other != n) {
                peers.append("          <connector-ref>").append(other.name).append("</connector-ref>\n");
            }
        }
        Path data = n.dir.resolve("data");
        String broker = """
                <configuration xmlns="urn:activemq">
                  <core xmlns="urn:activemq:core">
                    <name>%1$s</name>
                    <persistence-enabled>true</persistence-enabled>
                    <journal-type>NIO</journal-type>
                    <journal-datasync>false</journal-datasync>
                    <journal-pool-files>10</journal-pool-files>
                    <paging-directory>%2$s/paging</paging-directory>
                    <bindings-directory>%2$s/bindings</bindings-directory>
                    <journal-directory>%2$s/journal</journal-directory>
                    <large-messages-directory>%2$s/large</large-messages-directory>
                    <security-enabled>false</security-enabled>
                    <max-disk-usage>100</max-disk-usage>
                    <mqtt-session-state-persistence-timeout>%8$d</mqtt-session-state-persistence-timeout>
                    <thread-pool-max-size>%9$d</thread-pool-max-size>
                    <connectors>
                %3$s    </connectors>
                    <acceptors>
                      <acceptor name="core">tcp://127.0.0.1:%4$d?protocols=CORE</acceptor>
                      <acceptor name="mqtt">tcp://127.0.0.1:%5$d?protocols=MQTT</acceptor>
                    </acceptors>
                    <cluster-user>cluster</cluster-user>
                    <cluster-password>cluster-secret</cluster-password>
                    <cluster-connections>
                      <cluster-connection name="stamps">
                        <connector-ref>%1$s</connector-ref>
                        <message-load-balancing>ON_DEMAND</message-load-balancing>
                        <max-hops>1</max-hops>
                        <static-connectors>
                %6$s        </static-connectors>
                      </cluster-connection>
                    </cluster-connections>
                    <address-settings>
                %7$s
                      <address-setting match="#">
                        <redistribution-delay>0</redistribution-delay>
                        <auto-create-queues>true</auto-create-queues>
                        <auto-create-addresses>true</auto-create-addresses>
                      </address-setting>
                    </address-settings>
                  </core>
                </configuration>
                """.formatted(n.name, data, connectors, n.corePort, n.mqttPort, peers, extraAddressSettings, STATE_TIMEOUT_MS,
                THREAD_POOL);
        // The launcher insists on a JAAS domain and a management file even with security off.
        String bootstrap = """
                <broker xmlns="http://activemq.apache.org/schema">
                  <jaas-security domain="activemq"/>
                  <server configuration="%s"/>
                </broker>
                """.formatted(n.dir.resolve("etc").resolve("broker.xml").toUri());
        String login = """
                activemq {
                  org.apache.activemq.artemis.spi.core.security.jaas.GuestLoginModule required
                    org.apache.activemq.jaas.guest.user="guest"
                    org.apache.activemq.jaas.guest.role="guest";
                };
                """;
        String logging = """
                rootLogger.level = INFO
                rootLogger.appenderRef.file.ref = file
                # the audit loggers log every message sent at INFO: off, as in the distribution's own file
                logger.audit_base.name = org.apache.activemq.audit.base
                logger.audit_base.level = OFF
                logger.audit_resource.name = org.apache.activemq.audit.resource
                logger.audit_resource.level = OFF
                logger.audit_message.name = org.apache.activemq.audit.message
                logger.audit_message.level = OFF
                appender.file.type = File
                appender.file.name = file
                appender.file.fileName = %s
                appender.file.immediateFlush = true
                appender.file.layout.type = PatternLayout
                appender.file.layout.pattern = %%d %%-5level [%%logger] %%msg%%n
                """.formatted(n.log());
        try {
            Path etc = Files.createDirectories(n.dir.resolve("etc"));
            Files.createDirectories(n.dir.resolve("tmp"));
            Files.createDirectories(data);
            Files.writeString(etc.resolve("broker.xml"), broker, StandardCharsets.UTF_8);
            Files.writeString(etc.resolve("bootstrap.xml"), bootstrap, StandardCharsets.UTF_8);
            Files.writeString(etc.resolve("login.config"), login, StandardCharsets.UTF_8);
            Files.writeString(etc.resolve("management.xml"), "<management-context xmlns=\"http://activemq.apache.org/schema\"/>\n",
                    StandardCharsets.UTF_8);
            Files.writeString(etc.resolve("log4j2.properties"), logging, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void launch(Node n) {
        Path etc = n.dir.resolve("etc").toAbsolutePath();
        List<String> command = List.of(ProcessHandle.current().info().command().orElse("java"), "-Xms64m", "-Xmx" + HEAP,
                "-XX:+UseSerialGC", "-Dlog4j2.disableJmx=true", "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-Dartemis.home=" + home, "-Dartemis.instance=" + n.dir.toAbsolutePath(), "-Dartemis.instance.etc=" + etc,
                "-Ddata.dir=" + n.dir.resolve("data").toAbsolutePath(), "-Djava.io.tmpdir=" + n.dir.resolve("tmp").toAbsolutePath(),
                "-Djava.security.auth.login.config=" + etc.resolve("login.config"),
                "-Dlog4j2.configurationFile=" + etc.resolve("log4j2.properties").toUri(), "-cp",
                home.resolve("lib").resolve("artemis-boot.jar").toString(), "org.apache.activemq.artemis.boot.Artemis", "run");
        try {
            n.process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(n.dir.resolve("console.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + n.name, e);
        }
    }

    /** How many lines of the node's log (kept across restarts) carry this message code. */
    private static long count(Node n, String code) {
        try {
            return Files.exists(n.log()) ? Stream.of(Files.readString(n.log()).split("\n")).filter(l -> l.contains(code)).count() : 0;
        } catch (IOException e) {
            return 0; // being written: the caller reads again
        }
    }

    /**
     * Waits until node {@code n} has logged {@code code} {@code times} times. Fails at once when any of the
     * nodes being started has exited: a node waiting for its bridge to a dead peer would otherwise only time
     * out, with nothing in its own log about why.
     */
    private void awaitLog(Node n, String code, long times, Duration timeout, List<Node> starting) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (count(n, code) >= times) {
                return;
            }
            for (Node s : starting) {
                if (!s.process.isAlive()) {
                    throw new IllegalStateException(s.name + " exited with " + s.process.exitValue() + " while " + n.name
                            + " waited for " + code + ":\n" + log(nodes.indexOf(s)) + "\n" + console(s));
                }
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(n.name + " did not log " + code + " " + times + "x within " + timeout + ":\n"
                        + log(nodes.indexOf(n)));
            }
            try {
                Thread.sleep(100); // another process's log: there is no event to wait on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    private static String console(Node n) {
        try {
            return Files.readString(n.dir.resolve("console.log"));
        } catch (IOException e) {
            return "(no console output)";
        }
    }

    @Override
    public void close() {
        stop(false);
    }
}
