package app.sevenstamp.autopilot.sink.testing;

import app.sevenstamp.autopilot.protocol.testing.FreePorts;
import app.sevenstamp.autopilot.protocol.testing.Tools;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster for tests: {@code initdb} into a temporary directory, then
 * {@code pg_ctl start} on a free loopback port with its socket in that directory. One cluster per
 * test JVM ({@link #shared()}), a fresh database per test ({@link #newDatabase()}); the cluster is
 * stopped (immediate mode) and deleted when the JVM exits.
 *
 * <p>initdb refuses to run as root, and CI runs the tests as root: then every PostgreSQL command
 * runs as the {@code postgres} user (created by the Debian package) through {@code runuser}.
 * {@code fsync=off}: the tests check the sink's logic, not the disk; scripts/bench-sink measures
 * with PostgreSQL's durable defaults.
 */
public final class PostgresCluster {
    private static PostgresCluster shared;

    private final Path dir;
    private final Path bin;
    private final int port;
    private final AtomicInteger databases = new AtomicInteger();

    private PostgresCluster(Path dir, Path bin, int port) {
        this.dir = dir;
        this.bin = bin;
        this.port = port;
    }

    /** The JVM's cluster, started on first use. */
    public static synchronized PostgresCluster shared() {
        if (shared == null) {
            shared = start(true);
            PostgresCluster c = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(c::destroy, "postgres-cluster-stop"));
        }
        return shared;
    }

    /** A cluster of its own; {@code fsync} as given (on for measurements). Stop it with {@link #destroy()}. */
    public static PostgresCluster start(boolean fastUnsafe) {
        Path bin = binaries();
        try {
            Path dir = Files.createTempDirectory("sink-pg-");
            int port = FreePorts.pick();
            PostgresCluster cluster = new PostgresCluster(dir, bin, port);
            if (isRoot()) {
                run(List.of("chown", "postgres:postgres", dir.toString()));
            }
            Path data = dir.resolve("data");
            cluster.pg(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "sink", "--auth=trust",
                    "-E", "UTF8", "--no-sync", "--locale=C"));
            String options = "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c max_connections=100"
                    + (fastUnsafe ? " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" : "");
            cluster.pg(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
                    dir.resolve("postgres.log").toString(), "-o", options, "-w", "-t", "60", "start"));
            return cluster;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the PostgreSQL test cluster", e);
        }
    }

    /**
     * A streaming replica of this cluster on a port of its own: {@code pg_basebackup -R} (PostgreSQL's
     * default {@code wal_level=replica}, and initdb's {@code pg_hba.conf} lets loopback replicate), then a hot
     * standby that replays what this cluster commits and answers read-only queries. The backup asks for an
     * immediate checkpoint: the default spread one waits up to minutes on a cluster that other tests have written
     * to. Stop it with {@link #destroy()}.
     */
    public PostgresCluster startReplica() {
        try {
            Path replicaDir = Files.createTempDirectory("sink-pg-replica-");
            int replicaPort = FreePorts.pick();
            PostgresCluster replica = new PostgresCluster(replicaDir, bin, replicaPort);
            if (isRoot()) {
                run(List.of("chown", "postgres:postgres", replicaDir.toString()));
            }
            Path data = replicaDir.resolve("data");
            replica.pg(List.of(bin.resolve("pg_basebackup").toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U",
                    "sink", "-D", data.toString(), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"));
            replica.pg(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
                    replicaDir.resolve("postgres.log").toString(), "-o", "-p " + replicaPort + " -k " + replicaDir
                            + " -c listen_addresses=127.0.0.1 -c max_connections=100",
                    "-w", "-t", "60", "start"));
            return replica;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the PostgreSQL replica", e);
        }
    }

    /** A fresh, empty database in this cluster; returns its JDBC URL (user {@code sink}, no password). */
    public String newDatabase() {
        String name = "sink_" + databases.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("postgres"), "sink", "");
                Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
        }
        return url(name);
    }

    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public int port() {
        return port;
    }

    /** The postmaster's process id (from its postmaster.pid), for benches that read the server's CPU time. */
    public long pid() {
        try {
            return Long.parseLong(Files.readAllLines(dir.resolve("data").resolve("postmaster.pid")).get(0).trim());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the postmaster's pid", e);
        }
    }

    /** Stops the server at once and deletes its files. */
    public void destroy() {
        try {
            pg(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate",
                    "-w", "stop"));
        } catch (RuntimeException e) {
            System.err.println("stopping the PostgreSQL test cluster: " + e.getMessage());
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("deleting " + dir + ": " + e.getMessage());
        }
    }

    /** The PostgreSQL server binaries: Debian keeps them off the PATH, under /usr/lib/postgresql/N/bin. */
    static Path binaries() {
        Path lib = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> versions = Files.list(lib)) {
                List<Path> found = versions.map(v -> v.resolve("bin"))
                        .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                        .sorted(Comparator.comparing((Path b) -> {
                            String v = b.getParent().getFileName().toString();
                            return v.matches("\\d+") ? Integer.parseInt(v) : 0;
                        }).reversed())
                        .toList();
                if (!found.isEmpty()) {
                    return found.get(0);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        try {
            return Tools.require("initdb", "postgresql").toRealPath().getParent();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void pg(List<String> command) {
        List<String> full = new ArrayList<>();
        if (isRoot()) {
            full.addAll(List.of(Tools.require("runuser", "util-linux").toString(), "-u", "postgres", "--"));
        }
        full.addAll(command);
        run(full);
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: "
                        + new String(out, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
