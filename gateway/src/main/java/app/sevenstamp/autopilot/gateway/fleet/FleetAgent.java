package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Patterns;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.uplink.Link;
import app.sevenstamp.autopilot.protocol.CommandAck;
import app.sevenstamp.autopilot.protocol.DesiredConfig;
import app.sevenstamp.autopilot.protocol.DeviceCommand;
import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The gateway's side of fleet management, over the uplink's connection: a retained status (with a
 * retained last will saying offline) refreshed every {@code fleet.heartbeat}; the desired configuration
 * from the sink (retained, versioned), persisted in the state directory and reported back as
 * {@code configVersion}; and the commands, each answered with a {@link CommandAck}.
 *
 * <p>Hot keys (applied at once): {@code fleet.heartbeat}, and what the gateway registers with
 * {@link #hotKey} ({@code cards.programs}, {@code cards.trustedKeys}). Every other key is persisted and
 * applied at the next start ({@code restart} command, or systemd), because the parts that read them are
 * built once: {@code log.level} (tinylog's configuration is frozen at the first log line),
 * {@code mqtt.*}, {@code feedback.*}, {@code scanner.*}, {@code outbox.*}. Each new version's log line
 * names the keys applied live and those waiting for the restart; a removed key also waits (the file's
 * value comes back at the next start).
 *
 * <p>Threads: Paho's thread only hands messages to the single "fleet" thread, which also runs the
 * heartbeat; nothing here touches the scan path.
 */
public final class FleetAgent implements AutoCloseable {
    /** What a desired config version did, for the log and the tests. */
    public record Applied(long version, List<String> live, List<String> atRestart, List<String> refused) {
    }
    /** The box's updater ({@code update} command, the report in every status); see gateway.update. */
    public interface Updates {
        /** Handles an {@code update} command on the fleet thread; {@code ack} answers it (ok, result). */
        void command(DeviceCommand c, java.util.function.BiConsumer<Boolean, String> ack);

        /** Where the box is with an update, for the status; null when nothing to report. Must not block. */
        app.sevenstamp.autopilot.protocol.UpdateReport report();

        /** A status reached the broker. */
        void statusDelivered();
    }

    /** The exit status that asks systemd for a restart (EX_TEMPFAIL). */
    public static final int RESTART_EXIT = 75;

    private final String deviceId;
    private final Topics topics;
    private final Link link;
    private final Runnable flush;
    private final Outbox outbox;
    private final Feedback feedback;
    private final Path stateDir;
    private final Clock clock;
    private final String version;
    private final Supplier<String> scanner;
    private final Runnable restart;
    private final WireCodec codec = new WireCodec();
    private final ScheduledExecutorService worker;
    private final long startedNanos = System.nanoTime();
    private volatile long configVersion;
    private volatile Duration heartbeat;
    private ScheduledFuture<?> beat;
    /** Keys the running gateway applies at once; registered before attach, read on the fleet thread. */
    private final Map<String, Consumer<String>> hot = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile Applied lastApplied;
    /** Parts whose state the status also reports; set before attach, null when the gateway has none. */
    private volatile LongSupplier rulesVersion;
    private volatile IntSupplier voucherCancels;
    private volatile LongSupplier droppedScans;
    private volatile Updates updates;

    /**
     * @param link    the MQTT session, shared with the stamps
     * @param flush   wakes the stamp sender ({@code flush} command)
     * @param restart called after the ack of a {@code restart} command was handed to the uplink
     */
    public FleetAgent(String deviceId, Topics topics, Link link, Runnable flush, Outbox outbox, Feedback feedback, Path stateDir,
            Clock clock, String version, Duration heartbeat, Supplier<String> scanner, Runnable restart) {
        this.deviceId = deviceId;
        this.topics = topics;
        this.link = Objects.requireNonNull(link, "link");
        this.flush = Objects.requireNonNull(flush, "flush");
        this.outbox = outbox;
        this.feedback = feedback;
        this.stateDir = stateDir;
        this.clock = clock;
        this.version = version;
        this.heartbeat = heartbeat;
        this.scanner = scanner;
        this.restart = restart;
        this.configVersion = storedVersion(stateDir);
        ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(1, NamedThreads.daemon("fleet"));
        pool.setRemoveOnCancelPolicy(true);
        this.worker = pool;
        hot.put("fleet.heartbeat", this::applyHeartbeat);
    }

    /**
     * Registers a key the running gateway applies without a restart; {@code apply} runs on the fleet
     * thread, must not block, and throws (for example a ConfigException) for a value it refuses.
     */
    public void hotKey(String key, Consumer<String> apply) {
        hot.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(apply, "apply"));
    }

    /**
     * Reports in every status the counter rules version the box enforces and the voucher cancels it still
     * owes the sink: what an operator needs to see a box judging with old limits, or vouchers stuck as
     * redeemed. Both suppliers are read on the fleet thread and must not block.
     */
    public void reportCounterState(LongSupplier rulesVersion, IntSupplier voucherCancels) {
        this.rulesVersion = Objects.requireNonNull(rulesVersion, "rulesVersion");
        this.voucherCancels = Objects.requireNonNull(voucherCancels, "voucherCancels");
    }

    /**
     * Reports in every status how many scans the pipeline dropped since start (each answered STORAGE_FAULT):
     * a box whose outbox is stuck or whose scanner floods it tells customers to scan again, and an operator
     * should see that without the box's log. Read on the fleet thread; must not block.
     */
    public void reportDroppedScans(LongSupplier droppedScans) {
        this.droppedScans = Objects.requireNonNull(droppedScans, "droppedScans");
    }

    /** Hands {@code update} commands to {@code u} and reports its state in every status; set before attach. */
    public void updates(Updates u) {
        this.updates = Objects.requireNonNull(u, "updates");
    }

    /** What the newest desired config this run received did; null before the first. */
    public Applied lastApplied() {
        return lastApplied;
    }

    /** Registers with the link: call before the uplink starts. */
    public void attach() {
        link.will(topics.status(deviceId), codec.encode(offline()));
        link.subscribe(topics.config(deviceId), p -> worker.execute(() -> onConfig(p)));
        link.subscribe(topics.commands(deviceId), p -> worker.execute(() -> onCommand(p)));
        link.onReady(() -> worker.execute(this::publishStatus));
        schedule();
    }

    public long configVersion() {
        return configVersion;
    }

    private synchronized void schedule() {
        if (beat != null) {
            beat.cancel(false);
        }
        long ms = heartbeat.toMillis();
        beat = worker.scheduleAtFixedRate(this::publishStatus, ms, ms, TimeUnit.MILLISECONDS);
    }

    private DeviceStatus offline() {
        return new DeviceStatus(WireCodec.SCHEMA, deviceId, false, null, version, configVersion, 0, 0, 0, null, -1, null);
    }

    DeviceStatus status() {
        long backlog = outbox.status().backlog(); // kept by the outbox thread: no wait, also while H2 compacts
        long oldestAge = 0;
        try {
            Optional<Instant> oldest = outbox.oldestCreatedAt().get(2, TimeUnit.SECONDS);
            oldestAge = oldest.map(t -> Math.max(0, Duration.between(t, clock.instant()).toSeconds())).orElse(0L);
        } catch (Exception e) {
            Logger.debug("status: cannot read the outbox: {}", e.toString());
        }
        long disk = -1;
        try {
            disk = Files.getFileStore(stateDir).getUsableSpace();
        } catch (IOException e) {
            Logger.debug("status: no disk figure: {}", e.toString());
        }
        LongSupplier rules = rulesVersion;
        IntSupplier cancels = voucherCancels;
        LongSupplier dropped = droppedScans;
        Updates u = updates;
        return new DeviceStatus(WireCodec.SCHEMA, deviceId, true, clock.instant(), version, configVersion,
                (System.nanoTime() - startedNanos) / 1_000_000_000L, backlog, oldestAge, scanner.get(), disk, cpuTemperature(),
                outbox.health().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
                rules == null ? null : rules.getAsLong(), cancels == null ? null : cancels.getAsInt(),
                dropped == null ? null : dropped.getAsLong(), u == null ? null : u.report());
    }

    /** Publishes the status now, on the fleet thread, besides the heartbeat: after a change an operator should see. */
    public void publishStatusNow() {
        try {
            worker.execute(this::publishStatus);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the gateway is stopping (goodbye sent): the offline status stands
        }
    }

    private void publishStatus() {
        try {
            java.util.concurrent.CompletableFuture<Boolean> sent = link.publish(topics.status(deviceId), codec.encode(status()), true);
            Updates u = updates;
            if (u != null) {
                // the health of a new version: its status reached the broker (marked on the fleet thread)
                sent.thenAccept(ok -> {
                    if (Boolean.TRUE.equals(ok)) {
                        publishOnWorker(u::statusDelivered);
                    }
                });
            }
        } catch (RuntimeException e) {
            Logger.warn("status not published: {}", e.toString());
        }
    }

    private void publishOnWorker(Runnable r) {
        try {
            worker.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // stopping
        }
    }

    /** The SoC temperature in degrees Celsius, or null without a thermal zone (off a Pi, in a container). */
    static Double cpuTemperature() {
        try {
            String t = Files.readString(Path.of("/sys/class/thermal/thermal_zone0/temp"), StandardCharsets.US_ASCII).trim();
            return Long.parseLong(t) / 1000.0;
        } catch (IOException | NumberFormatException | SecurityException e) {
            return null;
        }
    }

    private void onConfig(byte[] payload) {
        if (payload.length == 0) {
            return; // the sink cleared the retained config
        }
        DesiredConfig d;
        try {
            d = codec.decode(payload, DesiredConfig.class);
        } catch (MalformedMessageException e) {
            Logger.warn("ignoring a malformed desired config: {}", e.getMessage());
            return;
        }
        if (!deviceId.equals(d.deviceId()) || d.version() <= configVersion) {
            return; // the retained copy of what we already run, or not ours
        }
        Map<String, String> old = storedSettings(stateDir);
        Applied a = applyChanged(d.version(), old, d.settings());
        // a value refused live would stop the next start (the same check runs there): keep the old one stored
        Map<String, String> keep = new HashMap<>(d.settings());
        for (String k : a.refused()) {
            if (old.containsKey(k)) {
                keep.put(k, old.get(k));
            } else {
                keep.remove(k);
            }
        }
        storeConfig(stateDir, d.version(), keep);
        configVersion = d.version();
        lastApplied = a;
        Logger.info("desired config version {} stored; applied live: {}; at the next start: {}{}", d.version(),
                a.live().isEmpty() ? "none" : String.join(", ", a.live()),
                a.atRestart().isEmpty() ? "none" : String.join(", ", a.atRestart()),
                a.refused().isEmpty() ? "" : "; refused (the running value stays): " + String.join(", ", a.refused()));
        publishStatus();
    }

    private void applyHeartbeat(String value) {
        Duration parsed = new app.sevenstamp.autopilot.protocol.support.Settings(props("fleet.heartbeat", value), "config")
                .duration("fleet.heartbeat", heartbeat, Duration.ofSeconds(1), Duration.ofHours(1));
        if (!parsed.equals(heartbeat)) {
            heartbeat = parsed;
            schedule();
        }
    }

    /** Applies the changed hot keys; sorts every changed key into live, at the next start, or refused. */
    private Applied applyChanged(long version, Map<String, String> old, Map<String, String> now) {
        java.util.TreeSet<String> changed = new java.util.TreeSet<>();
        now.forEach((k, v) -> {
            if (!v.equals(old.get(k))) {
                changed.add(k);
            }
        });
        old.keySet().stream().filter(k -> !now.containsKey(k)).forEach(changed::add);
        List<String> live = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (String k : changed) {
            String v = now.get(k);
            if (v == null) {
                restart.add(k); // removed: the file's value, which only the next start reads
            } else if (hot.containsKey(k)) {
                try {
                    hot.get(k).accept(v);
                    live.add(k);
                } catch (RuntimeException e) {
                    Logger.warn("desired config version {}: {} not applied: {}", version, k, e.getMessage());
                    refused.add(k);
                }
            } else {
                restart.add(k);
            }
        }
        return new Applied(version, List.copyOf(live), List.copyOf(restart), List.copyOf(refused));
    }

    private void onCommand(byte[] payload) {
        DeviceCommand c;
        try {
            c = codec.decode(payload, DeviceCommand.class);
        } catch (MalformedMessageException e) {
            Logger.warn("ignoring a malformed command: {}", e.getMessage());
            return;
        }
        if (!deviceId.equals(c.deviceId())) {
            return;
        }
        if (c.issuedAt() != null && Duration.between(c.issuedAt(), clock.instant()).compareTo(Duration.ofMinutes(5)) > 0) {
            ack(c, false, "expired: issued at " + c.issuedAt());
            return;
        }
        Logger.info("command {} ({})", c.command(), c.commandId());
        switch (c.command()) {
            case "identify" -> {
                feedback.identify();
                ack(c, true, "identify: blinking for up to " + Patterns.IDENTIFY_LIMIT.toSeconds() + " s");
            }
            case "self-test" -> {
                DeviceStatus s = status();
                feedback.selfTest();
                String result = "feedback: self-test pattern played; outbox backlog " + s.backlog() + "; disk free "
                        + s.diskFreeBytes() + " bytes; scanner " + s.scanner();
                ack(c, s.backlog() >= 0, result);
            }
            case "flush" -> {
                flush.run();
                ack(c, true, "sending the outbox now; backlog " + status().backlog());
            }
            case "log-level" -> {
                String level = c.argument() == null ? "" : c.argument();
                if (!FleetSettings.LEVEL.matcher(level).matches()) {
                    ack(c, false, "level '" + level + "' is not one of trace, debug, info, warn, error");
                } else {
                    Map<String, String> s = new HashMap<>(storedSettings(stateDir));
                    s.put("log.level", level);
                    storeConfig(stateDir, configVersion, s);
                    ack(c, true, "log level " + level + " stored; tinylog applies it at the next start (restart)");
                }
            }
            case "restart" -> {
                ack(c, true, "restarting");
                worker.schedule(restart, 500, TimeUnit.MILLISECONDS);
            }
            case "update" -> {
                Updates u = updates;
                if (u == null) {
                    ack(c, false, "this gateway takes no updates");
                } else {
                    u.command(c, (ok, result) -> ack(c, ok, result));
                }
            }
            default -> ack(c, false, "unknown command '" + c.command() + "'");
        }
    }

    private void ack(DeviceCommand c, boolean ok, String result) {
        link.publish(topics.commandAcks(deviceId), codec.encode(new CommandAck(WireCodec.SCHEMA, c.commandId(), deviceId,
                c.command(), ok, result)), false);
    }

    // --- the persisted desired configuration

    static void storeConfig(Path stateDir, long version, Map<String, String> settings) {
        Properties p = new Properties();
        settings.forEach(p::setProperty);
        p.setProperty("config.version", Long.toString(version));
        StateFiles.write(stateDir, StateFiles.CONFIG, p);
    }

    /** The stored desired settings (without the version). */
    public static Map<String, String> storedSettings(Path stateDir) {
        Map<String, String> out = new HashMap<>();
        StateFiles.read(stateDir, StateFiles.CONFIG).ifPresent(p -> {
            for (String k : p.stringPropertyNames()) {
                if (!k.equals("config.version")) {
                    out.put(k, p.getProperty(k));
                }
            }
        });
        return out;
    }

    static long storedVersion(Path stateDir) {
        return StateFiles.read(stateDir, StateFiles.CONFIG)
                .map(p -> Long.parseLong(p.getProperty("config.version", "0"))).orElse(0L);
    }

    private static Properties props(String k, String v) {
        Properties p = new Properties();
        p.setProperty(k, v);
        return p;
    }

    /**
     * At a clean stop: publish the retained offline status ourselves (a clean disconnect does not fire
     * the last will), waiting at most {@code wait} for the uplink to hand it to Paho.
     */
    public void goodbye(Duration wait) {
        worker.shutdownNow();
        try {
            link.publish(topics.status(deviceId), codec.encode(offline()), true).get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            Logger.debug("offline status not published: {}", e.toString());
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
