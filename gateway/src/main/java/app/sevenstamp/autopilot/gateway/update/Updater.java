package app.sevenstamp.autopilot.gateway.update;

import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.gateway.fleet.FleetAgent;
import app.sevenstamp.autopilot.protocol.DeviceCommand;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.UpdateManifest;
import app.sevenstamp.autopilot.protocol.UpdateReport;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.tinylog.Logger;

/**
 * The gateway's side of an update, as its own unprivileged user: takes the {@code update} command, checks the
 * signed manifest ({@link ManifestCheck}), downloads the .deb into the state directory with a size cap, checks it
 * again, and queues it for the root helper ({@link Spool}); the helper installs, restarts and judges the health.
 * A gateway that starts while the helper waits for it writes the health mark once its status reached the broker.
 * Every status carries {@link #report()}.
 *
 * <p>Threads: the fleet thread calls {@link #command}, {@link #report} and {@link #statusDelivered}; the download,
 * the trigger and the watch for the helper's result run on the single "update" thread. The state the fleet thread
 * reads is one volatile report.
 */
public final class Updater implements FleetAgent.Updates, AutoCloseable {
    private final String deviceId;
    private final UpdateSettings settings;
    private final Spool spool;
    private final Runnable statusNow;
    private final WireCodec codec = new WireCodec();
    private final ScheduledThreadPoolExecutor worker = new ScheduledThreadPoolExecutor(1, NamedThreads.daemon("update"));
    /** What this run did itself (downloading, a refusal); null: the spool says it. */
    private volatile UpdateReport own;
    /** The helper's token this process must confirm; null when no install waits for it (read once at start). */
    private volatile String healthToken;
    private final AtomicLong refused = new AtomicLong();

    /** @param statusNow publishes the status at once (the fleet agent's), after a change the sink should see */
    public Updater(String deviceId, UpdateSettings settings, Path stateDir, Runnable statusNow) {
        this.deviceId = deviceId;
        this.settings = settings;
        this.spool = new Spool(stateDir);
        this.statusNow = statusNow;
        this.healthToken = spool.properties(Spool.INFLIGHT).map(p -> p.getProperty("token")).orElse(null);
        if (healthToken != null) {
            Logger.info("update: the helper waits for version {} to report healthy; it will once its status reached the broker",
                    spool.properties(Spool.INFLIGHT).map(p -> p.getProperty("version")).orElse("?"));
        }
    }

    /** Manifests refused since start: malformed, unsigned or forged, for another box, a downgrade, a bad file. */
    public long refused() {
        return refused.get();
    }

    @Override
    public void command(DeviceCommand c, BiConsumer<Boolean, String> ack) {
        if (!settings.enabled()) {
            refused.incrementAndGet();
            ack.accept(false, "updates are off on this box: no update.trustedKey in its configuration file");
            return;
        }
        UpdateManifest m;
        try {
            m = codec.decode(c.argument() == null ? new byte[0] : c.argument().getBytes(StandardCharsets.UTF_8), UpdateManifest.class);
        } catch (MalformedMessageException e) {
            refused.incrementAndGet();
            Logger.warn("update: malformed manifest refused: {}", e.getMessage());
            ack.accept(false, "malformed manifest: " + e.getMessage());
            return;
        }
        Optional<String> installed = ManifestCheck.installedVersion(settings.dpkgStatus(), settings.packageName());
        Optional<String> why = ManifestCheck.refusal(m, settings.publicKey(), deviceId, installed);
        if (why.isPresent() && why.get().endsWith("is already installed") && m.signedBy(settings.publicKey())) {
            own = new UpdateReport(m.version(), "healthy", why.get());
            ack.accept(true, why.get());
            statusNow.run();
            return;
        }
        if (why.isPresent()) {
            refused.incrementAndGet();
            Logger.warn("update: manifest for version {} refused: {}", m.version(), why.get());
            if (m.deviceId().equals(deviceId) && m.signedBy(settings.publicKey())) {
                own = new UpdateReport(m.version(), "failed", why.get()); // the sink's own manifest: it should see why
                statusNow.run();
            }
            ack.accept(false, "refused: " + why.get());
            return;
        }
        UpdateReport now = report();
        if (now != null && now.version().equals(m.version()) && !now.finished()) {
            ack.accept(true, "already " + now.state() + " " + m.version());
            return;
        }
        if (m.size() > settings.maxBytes()) {
            refused.incrementAndGet();
            fail(m, "the package has " + m.size() + " bytes, more than update.maxMegabytes allows (" + settings.maxBytes() + ")");
            ack.accept(false, "refused: " + own.detail());
            return;
        }
        own = new UpdateReport(m.version(), "downloading", null);
        ack.accept(true, "downloading " + m.version() + " (" + m.size() + " bytes)");
        worker.execute(() -> download(m));
    }

    private void download(UpdateManifest m) {
        try {
            spool.delete(Spool.RESULT, Spool.HEALTHY, Spool.TAKEN);
            Files.createDirectories(spool.dir());
            Path part = spool.file(Spool.DEB + ".part");
            MessageDigest sha = ManifestCheck.digest();
            // made here, not with the updater: the JDK's client loads its HTTP and TLS code (about 400 classes)
            // and the CA certificates, memory a box would otherwise carry all its life for an update a month
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
                    .followRedirects(HttpClient.Redirect.NORMAL).build();
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(m.url())).timeout(Duration.ofMinutes(10)).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(part)) {
                if (r.statusCode() != 200) {
                    fail(m, "download of " + m.url() + " answered HTTP " + r.statusCode());
                    return;
                }
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                for (int n; (n = in.read(buf)) > 0; ) {
                    total += n;
                    if (total > m.size()) {
                        fail(m, "the download is longer than the manifest's " + m.size() + " bytes; stopped");
                        return;
                    }
                    sha.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
                if (total != m.size()) {
                    fail(m, "the download has " + total + " bytes, the manifest says " + m.size());
                    return;
                }
            }
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equals(m.sha256())) {
                fail(m, "the download's SHA-256 is " + got + ", the manifest says " + m.sha256());
                return;
            }
            Files.move(part, spool.file(Spool.DEB), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            spool.write(Spool.REQUEST, new String(codec.encode(m), StandardCharsets.UTF_8));
            own = new UpdateReport(m.version(), "installing", "verified; queued for the root helper");
            Logger.info("update: version {} downloaded and verified ({} bytes); queued for installation", m.version(), m.size());
            statusNow.run();
            trigger();
            watchForResult(m.version(), 0);
        } catch (IOException | RuntimeException e) {
            fail(m, "download of " + m.url() + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void trigger() throws IOException {
        if (settings.trigger().isBlank()) {
            return; // the path unit starts the helper
        }
        new ProcessBuilder("sh", "-c", settings.trigger(), "sh", spool.dir().toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    /** Looks for the helper's outcome every 2 s, until the health timeout and a margin, and publishes it when it comes. */
    private void watchForResult(String version, int round) {
        long rounds = (settings.healthTimeout().toSeconds() + 120) / 2;
        if (spool.result().filter(r -> r.version().equals(version)).isPresent() || round > rounds) {
            own = null;
            statusNow.run();
            return;
        }
        worker.schedule(() -> watchForResult(version, round + 1), 2, TimeUnit.SECONDS);
    }

    private void fail(UpdateManifest m, String reason) {
        Logger.warn("update: version {} not installed: {}", m.version(), reason);
        own = new UpdateReport(m.version(), "failed", reason);
        spool.delete(Spool.DEB + ".part");
        statusNow.run();
    }

    /** For every status: this run's own state, else the helper's outcome or its work in progress. */
    @Override
    public UpdateReport report() {
        UpdateReport mine = own;
        if (mine != null) {
            return mine;
        }
        Optional<Properties> inflight = spool.properties(Spool.INFLIGHT);
        if (inflight.isPresent()) {
            return new UpdateReport(inflight.get().getProperty("version", "?"), "installing", "the root helper installs it");
        }
        if (spool.exists(Spool.REQUEST)) {
            // queued and not taken: without the path unit (or update.trigger) nothing installs it
            try {
                UpdateManifest m = codec.decode(java.nio.file.Files.readAllBytes(spool.file(Spool.REQUEST)), UpdateManifest.class);
                return new UpdateReport(m.version(), "installing", "queued; the root helper (7stamp-gateway-update.path) has not taken it");
            } catch (IOException | MalformedMessageException e) {
                return null;
            }
        }
        return spool.result().orElse(null);
    }

    /** Called after a status reached the broker: the health mark, once, if an install waits for this process. */
    @Override
    public void statusDelivered() {
        String token = healthToken;
        if (token == null) {
            return;
        }
        healthToken = null;
        try {
            spool.write(Spool.HEALTHY, token);
            Logger.info("update: reported healthy to the helper");
            worker.execute(() -> watchForResult(spool.properties(Spool.INFLIGHT).map(p -> p.getProperty("version")).orElse("?"), 0));
        } catch (RuntimeException e) {
            Logger.warn("update: the health mark was not written: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
